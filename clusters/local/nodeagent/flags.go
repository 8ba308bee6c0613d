package nodeagent

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// AddFlags binds c's fields to flags on fs, using c's current values as the defaults
// (start from DefaultConfig()).
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&c.Nodes, "nodes", c.Nodes, "Number of simulated nodes.")
	fs.StringVar(&c.NamePrefix, "node-name-prefix", c.NamePrefix, "Node names are this prefix followed by the node's index.")
	fs.Var(&quantityValue{&c.CPU}, "node-cpu", "CPU capacity of each node.")
	fs.Var(&quantityValue{&c.Memory}, "node-memory", "Memory capacity of each node.")
	fs.IntVar(&c.MaxPods, "node-max-pods", c.MaxPods, "Pod capacity of each node.")
	fs.StringToStringVar(&c.Labels, "node-labels", c.Labels, "Extra labels for every node, key=value pairs.")
	fs.Var(&taintsValue{&c.Taints}, "node-taints", "Taints for every node, key[=value]:Effect, comma separated.")
	fs.StringVar(&c.PodCIDR, "pod-cidr", c.PodCIDR, "IPv4 range split into per-node pod CIDRs (not loopback).")
	fs.IntVar(&c.NodeCIDRMaskSize, "node-cidr-mask-size", c.NodeCIDRMaskSize, "Prefix length of each node's pod CIDR.")
	fs.StringVar(&c.NodeIPRange, "node-ip-range", c.NodeIPRange, "IPv4 range the nodes' InternalIPs come from (not loopback).")
	fs.DurationVar(&c.SandboxDelay, "sandbox-delay", c.SandboxDelay, "Delay from a pod being bound to it being Running and Ready (200ms: the paper's '+' lifecycle).")
	fs.DurationVar(&c.TerminationDelay, "termination-delay", c.TerminationDelay, "Delay from a pod's deletion to the agent removing it.")
	fs.DurationVar(&c.LeaseDuration, "lease-duration", c.LeaseDuration, "Duration written into each node Lease.")
	fs.DurationVar(&c.LeaseRenewInterval, "lease-renew-interval", c.LeaseRenewInterval, "How often each node Lease is renewed; 0 derives it from --lease-duration and --nodes.")
	fs.DurationVar(&c.StatusInterval, "node-status-interval", c.StatusInterval, "How often each node posts a status heartbeat.")
	fs.DurationVar(&c.HousekeepingInterval, "housekeeping-interval", c.HousekeepingInterval, "How often the agent forgets pods it tracks that are gone from the API server without its informer telling it.")
	fs.Float32Var(&c.QPS, "kube-api-qps", c.QPS, "QPS of the agent's API client (shared by all nodes).")
	fs.IntVar(&c.Burst, "kube-api-burst", c.Burst, "Burst of the agent's API client.")
	fs.IntVar(&c.Workers, "workers", c.Workers, "Pod status workers; 0 is one per node, at least 32 and at most 128.")
	fs.IntVar(&c.RegisterParallelism, "register-parallelism", c.RegisterParallelism, "Concurrent requests while registering nodes.")
	fs.BoolVar(&c.DeleteNodesOnExit, "delete-nodes-on-exit", c.DeleteNodesOnExit, "Delete the nodes and their Leases on shutdown.")
}

type quantityValue struct{ q *resource.Quantity }

func (v *quantityValue) String() string {
	if v.q == nil {
		return ""
	}
	return v.q.String()
}

func (v *quantityValue) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a quantity: %v", s, err)
	}
	*v.q = q
	return nil
}

func (v *quantityValue) Type() string { return "quantity" }

type taintsValue struct{ t *[]corev1.Taint }

func (v *taintsValue) String() string {
	if v.t == nil {
		return ""
	}
	parts := make([]string, len(*v.t))
	for i, t := range *v.t {
		parts[i] = t.ToString()
	}
	return strings.Join(parts, ",")
}

// Set parses key[=value]:Effect entries, comma separated (kubectl taint's syntax).
func (v *taintsValue) Set(s string) error {
	var out []corev1.Taint
	for _, spec := range strings.Split(s, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		t, err := parseTaint(spec)
		if err != nil {
			return err
		}
		out = append(out, t)
	}
	*v.t = out
	return nil
}

func (v *taintsValue) Type() string { return "taints" }

func parseTaint(spec string) (corev1.Taint, error) {
	kv, effect, ok := strings.Cut(spec, ":")
	if !ok {
		return corev1.Taint{}, fmt.Errorf("taint %q: want key[=value]:Effect", spec)
	}
	key, value, _ := strings.Cut(kv, "=")
	t := corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffect(effect)}
	if err := validateTaint(t); err != nil {
		return corev1.Taint{}, fmt.Errorf("taint %q: %v", spec, err)
	}
	return t, nil
}
