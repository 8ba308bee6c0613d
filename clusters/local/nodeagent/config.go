package nodeagent

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/internal/kubeclient"
)

// Defaults. The node shape is the paper's testbed (CloudLab xl170: 10 cores, 64 GB);
// 110 pods is the kubelet's default max-pods.
const (
	DefaultNodes            = 80
	DefaultNamePrefix       = "kd-node-"
	DefaultCPU              = "10"
	DefaultMemory           = "64Gi"
	DefaultMaxPods          = 110
	DefaultPodCIDR          = "10.128.0.0/9"
	DefaultNodeCIDRMaskSize = 24
	DefaultNodeIPRange      = "172.16.0.0/12"
	DefaultLeaseDuration    = 40 * time.Second // the kubelet's default
	DefaultStatusInterval   = 5 * time.Minute  // the kubelet's nodeStatusReportFrequency
	// DefaultHousekeepingInterval is how often the agent looks for pods it
	// tracks that the API server no longer has (the kubelet's housekeeping
	// runs every 2s; only pods missing from the agent's informer cost a read).
	DefaultHousekeepingInterval = 2 * time.Second
	DefaultQPS                  = 1000
	DefaultBurst                = 2000
	// The pod worker pool is one worker per node, as each kubelet's status manager
	// writes its pods' statuses on its own, within [MinWorkers, MaxWorkers]: enough
	// that the agent is not the bottleneck of a burst, few enough for one HTTP/2
	// connection's streams.
	MinWorkers                 = 32
	MaxWorkers                 = 128
	DefaultRegisterParallelism = 64

	// leaseRenewBudget caps the automatic renew interval's request rate: with many
	// nodes the interval stretches (up to half the lease duration) so that lease
	// renewals stay near this many requests per second.
	leaseRenewBudget = 100
	// The label every simulated node carries, so tools can tell them apart.
	TypeLabel      = "type"
	TypeLabelValue = "kdbench-sim"
	// SandboxDelayAnnotation on every node records the agent's sandbox
	// delay, so that a run on a cluster it did not start can tell which
	// lifecycle its pods get.
	SandboxDelayAnnotation = "kdbench.io/sandbox-delay"
)

// Config describes the simulated nodes and how the agent drives them. Zero values mean
// "use the default"; negative values are errors.
type Config struct {
	// Nodes is how many nodes to register; they are named NamePrefix + index (0-based).
	Nodes      int
	NamePrefix string

	// Per-node capacity; allocatable equals capacity (nothing is reserved on a
	// simulated node).
	CPU     resource.Quantity
	Memory  resource.Quantity
	MaxPods int

	// Labels and Taints are added to every node, next to kubernetes.io/hostname,
	// kubernetes.io/os=linux, kubernetes.io/arch=amd64 and type=kdbench-sim.
	Labels map[string]string
	Taints []corev1.Taint

	// PodCIDR is split into one /NodeCIDRMaskSize per node; pod IPs come from the
	// node's range. Node InternalIPs are consecutive addresses of NodeIPRange. Both must
	// be IPv4 and not loopback (EndpointSlice validation drops loopback addresses).
	PodCIDR          string
	NodeCIDRMaskSize int
	NodeIPRange      string

	// SandboxDelay is how long after the agent sees a pod bound it marks the pod
	// Running and Ready: 0 by default, 200ms for the paper's "+" lifecycle.
	SandboxDelay time.Duration
	// TerminationDelay is how long the pod's containers take to "stop" after the pod
	// gets a deletionTimestamp, before the agent deletes it with grace period 0.
	TerminationDelay time.Duration

	// LeaseDuration is written into each node's Lease. LeaseRenewInterval is how often
	// each Lease is renewed; 0 picks LeaseDuration/4 (the kubelet's ratio), stretched
	// up to LeaseDuration/2 when many nodes would exceed ~100 renewals per second.
	// The node lifecycle controller only needs a renewal within its grace period
	// (50s in v1.32).
	LeaseDuration      time.Duration
	LeaseRenewInterval time.Duration
	// StatusInterval is how often each node's status heartbeat is posted.
	StatusInterval time.Duration
	// HousekeepingInterval is how often the agent forgets the pods it tracks
	// that are gone from the API server without the agent's pod informer
	// having told it (a pod handed over by a direct source and deleted before
	// the informer saw it, or a relist that skipped a create and a delete).
	HousekeepingInterval time.Duration

	// QPS and Burst are for the agent's client (see RESTConfig): one agent speaks for
	// every node, so the defaults are high enough not to throttle it.
	QPS   float32
	Burst int

	// Workers is the size of the pod worker pool (0: one per node within
	// [MinWorkers, MaxWorkers]); RegisterParallelism bounds the concurrent requests
	// while registering nodes.
	Workers             int
	RegisterParallelism int

	// DeleteNodesOnExit removes the agent's Nodes and Leases when Run returns.
	DeleteNodesOnExit bool

	// DirectAddress is where the agent's Kubedirect link listens (direct
	// mode), annotated on every node as kubedirect.io/agent so that the
	// scheduler hop routes the nodes' managed pods there. Empty: no direct
	// mode, and the annotation is removed from nodes a previous run left.
	DirectAddress string
}

// DefaultConfig returns a Config with every default filled in; AddFlags uses the values
// it is called on as flag defaults.
func DefaultConfig() Config {
	c := Config{}
	c.complete()
	return c
}

// complete fills zero values with defaults.
func (c *Config) complete() {
	if c.Nodes == 0 {
		c.Nodes = DefaultNodes
	}
	if c.NamePrefix == "" {
		c.NamePrefix = DefaultNamePrefix
	}
	if c.CPU.IsZero() {
		c.CPU = resource.MustParse(DefaultCPU)
	}
	if c.Memory.IsZero() {
		c.Memory = resource.MustParse(DefaultMemory)
	}
	if c.MaxPods == 0 {
		c.MaxPods = DefaultMaxPods
	}
	if c.PodCIDR == "" {
		c.PodCIDR = DefaultPodCIDR
	}
	if c.NodeCIDRMaskSize == 0 {
		c.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	if c.NodeIPRange == "" {
		c.NodeIPRange = DefaultNodeIPRange
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.HousekeepingInterval == 0 {
		c.HousekeepingInterval = DefaultHousekeepingInterval
	}
	if c.QPS == 0 {
		c.QPS = DefaultQPS
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.RegisterParallelism == 0 {
		c.RegisterParallelism = DefaultRegisterParallelism
	}
}

// resolve replaces the "derive it" zero values with what the agent will use, so that
// Agent.Config reports the effective settings.
func (c *Config) resolve() {
	if c.Workers == 0 {
		c.Workers = min(max(c.Nodes, MinWorkers), MaxWorkers)
	}
	c.LeaseRenewInterval = c.renewInterval()
}

// renewInterval is the effective lease renew interval (see LeaseRenewInterval).
func (c *Config) renewInterval() time.Duration {
	if c.LeaseRenewInterval > 0 {
		return c.LeaseRenewInterval
	}
	d := c.LeaseDuration / 4
	if need := time.Duration(c.Nodes) * time.Second / leaseRenewBudget; need > d {
		d = min(need, c.LeaseDuration/2)
	}
	return d
}

// validate checks a completed Config and returns every problem, each naming its field.
func (c *Config) validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("nodeagent config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Nodes < 0 {
		bad("Nodes", "%d is negative", c.Nodes)
	}
	// The longest name must be a valid DNS subdomain (node names) and label value
	// (kubernetes.io/hostname).
	last := nodeName(c.NamePrefix, max(c.Nodes-1, 0))
	for _, msg := range validation.IsDNS1123Subdomain(last) {
		bad("NamePrefix", "node name %q: %s", last, msg)
	}
	for _, msg := range validation.IsValidLabelValue(last) {
		bad("NamePrefix", "node name %q as a label value: %s", last, msg)
	}
	if c.CPU.Sign() < 0 {
		bad("CPU", "%s is negative", c.CPU.String())
	}
	if c.Memory.Sign() < 0 {
		bad("Memory", "%s is negative", c.Memory.String())
	}
	if c.MaxPods < 0 {
		bad("MaxPods", "%d is negative", c.MaxPods)
	}
	for k, v := range c.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			bad("Labels", "key %q: %s", k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			bad("Labels", "value %q of %q: %s", v, k, msg)
		}
	}
	for i, t := range c.Taints {
		if err := validateTaint(t); err != nil {
			bad("Taints", "[%d] %v", i, err)
		}
	}
	if c.NodeCIDRMaskSize < 0 || c.NodeCIDRMaskSize > 30 {
		bad("NodeCIDRMaskSize", "%d is outside [1, 30]", c.NodeCIDRMaskSize)
	} else if c.Nodes >= 0 && c.MaxPods >= 0 {
		if _, err := newPodCIDRs(c.PodCIDR, c.NodeCIDRMaskSize, c.Nodes, c.MaxPods); err != nil {
			bad("PodCIDR", "%v", err)
		}
	}
	if c.Nodes >= 0 {
		if _, err := newNodeIPs(c.NodeIPRange, c.Nodes); err != nil {
			bad("NodeIPRange", "%v", err)
		}
	}
	if p1, err1 := netip.ParsePrefix(c.PodCIDR); err1 == nil {
		if p2, err2 := netip.ParsePrefix(c.NodeIPRange); err2 == nil && p1.Overlaps(p2) {
			bad("NodeIPRange", "%s overlaps PodCIDR %s", p2, p1)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"SandboxDelay", c.SandboxDelay},
		{"TerminationDelay", c.TerminationDelay},
		{"LeaseDuration", c.LeaseDuration},
		{"LeaseRenewInterval", c.LeaseRenewInterval},
		{"StatusInterval", c.StatusInterval},
		{"HousekeepingInterval", c.HousekeepingInterval},
	} {
		if d.v < 0 {
			bad(d.name, "%s is negative", d.v)
		}
	}
	if c.LeaseDuration > 0 && c.LeaseDuration < time.Second {
		bad("LeaseDuration", "%s is below the 1s resolution of a Lease", c.LeaseDuration)
	}
	if c.LeaseRenewInterval >= c.LeaseDuration && c.LeaseDuration > 0 {
		bad("LeaseRenewInterval", "%s is not shorter than LeaseDuration %s", c.LeaseRenewInterval, c.LeaseDuration)
	}
	if c.QPS < 0 {
		bad("QPS", "%g is negative", c.QPS)
	}
	if c.Burst < 0 {
		bad("Burst", "%d is negative", c.Burst)
	}
	if c.Workers < 0 {
		bad("Workers", "%d is negative", c.Workers)
	}
	if c.RegisterParallelism < 0 {
		bad("RegisterParallelism", "%d is negative", c.RegisterParallelism)
	}
	return errors.Join(errs...)
}

func validateTaint(t corev1.Taint) error {
	if msgs := validation.IsQualifiedName(t.Key); len(msgs) > 0 {
		return fmt.Errorf("key %q: %s", t.Key, strings.Join(msgs, "; "))
	}
	if t.Value != "" {
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
			return fmt.Errorf("value %q: %s", t.Value, strings.Join(msgs, "; "))
		}
	}
	switch t.Effect {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return nil
	default:
		return fmt.Errorf("effect %q is not NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
	}
}

// RESTConfig returns a copy of base with the agent's QPS, Burst, content type and user agent, for
// building the client passed to New.
func (c *Config) RESTConfig(base *rest.Config) *rest.Config {
	cc := *c
	cc.complete()
	rc := rest.CopyConfig(base)
	rc.QPS = cc.QPS
	rc.Burst = cc.Burst
	rc.RateLimiter = timedRateLimiter(rc) // a pod's timings show its requests' throttling
	kubeclient.Protobuf(rc)               // as the kubelet's
	rc.UserAgent = "kdbench-nodeagent"
	return rc
}

func nodeName(prefix string, i int) string {
	return fmt.Sprintf("%s%d", prefix, i)
}
