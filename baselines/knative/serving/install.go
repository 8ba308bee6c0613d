// Package serving installs real Knative Serving (knative.dev/serving
// v0.42.2, Knative 1.15) on a kdbench local cluster: the modules' CRDs and
// ConfigMaps with the artifact's settings on top, and Serving's controller,
// autoscaler and activator run by kdbench's supervisor in network
// namespaces of their own (docs/knative.md). The one modelled piece is the
// ingress: IngressStatusWriter marks each KIngress Ready, as an ingress
// controller would once its routes are programmed.
package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/netns"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// SystemNamespace is where Serving's own objects live.
const SystemNamespace = "knative-serving"

// Options tune Install.
type Options struct {
	// BinDir holds the binaries and, beside it, config/ ("" = BinDir()).
	BinDir string
	// Dir is where component logs and working files go ("" = a knative/
	// directory beside the cluster's kubeconfig).
	Dir string
	// Timeout bounds start-up (0 = 2 minutes).
	Timeout time.Duration
	Logf    func(format string, args ...any)
	// Placement, if set, runs the components on a multi-host process
	// control plane's control-plane host instead of in network namespaces
	// of this machine (placed.go, docs/knative.md).
	Placement *Placement
}

// Component is one piece of the installation and whether it is the real
// thing.
type Component struct {
	Name    string `json:"name"`
	Real    bool   `json:"real"`
	Version string `json:"version"`
	// Log is the component's log file ("" for one running in kdbench).
	Log  string `json:"log,omitempty"`
	Note string `json:"note,omitempty"`
}

// Serving is a running installation.
type Serving struct {
	opts      Options
	net       *network
	procs     []*supervisor.Process
	bridges   []*netns.Bridge
	activator *netns.Bridge // this machine's loopback → the activator
	placed    *placed       // the components on a multi-host cluster's control-plane host
	ingress   *IngressStatusWriter
	comps     []Component
}

// component is how one Serving binary runs.
type component struct {
	name    string // the command, and its namespace's role
	env     map[string]string
	healthy func(s *Serving) supervisor.Check
}

var components = []component{
	{name: "controller", env: map[string]string{"METRICS_DOMAIN": "knative.dev/internal/serving"},
		healthy: func(s *Serving) supervisor.Check { return tcpCheck(s.net.path("controller"), "127.0.0.1:8080") }},
	{name: "autoscaler", env: map[string]string{"METRICS_DOMAIN": "knative.dev/serving", "POD_IP": autoscalerIP},
		healthy: func(s *Serving) supervisor.Check { return tcpCheck(s.net.path("pods"), autoscalerIP+":8080") }},
	{name: "activator", env: map[string]string{"METRICS_DOMAIN": "knative.dev/internal/serving", "POD_IP": activatorIP},
		healthy: func(s *Serving) supervisor.Check { return tcpCheck(s.net.path("pods"), activatorIP+":8012") }},
}

// Install applies Serving's manifests to c and starts its components:
// on this machine in network namespaces of their own (the local cluster),
// or, with o.Placement, on a multi-host cluster's control-plane host
// (placed.go). The caller must Close the result, also on failure paths of
// its own.
func Install(ctx context.Context, c *clusters.Cluster, o Options) (_ *Serving, err error) {
	if o.Placement == nil && os.Geteuid() != 0 {
		return nil, errors.New("knative: real Knative Serving needs root (network namespaces for its components and the pod network; docs/knative.md)")
	}
	if o.BinDir == "" {
		o.BinDir = BinDir()
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(filepath.Dir(c.Kubeconfig), "knative")
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	began := time.Now()
	if err := CheckBinaries(o.BinDir, "controller", "autoscaler", "activator"); err != nil {
		return nil, err
	}
	api, err := url.Parse(c.REST.Host)
	if err != nil || api.Port() == "" {
		return nil, fmt.Errorf("knative: API server address %q: want https://host:port", c.REST.Host)
	}
	podIP := activatorIP
	if o.Placement != nil {
		if err := o.Placement.check(); err != nil {
			return nil, err
		}
		podIP = o.Placement.Host.Addr
	} else if h := api.Hostname(); net.ParseIP(h) == nil || !net.ParseIP(h).IsLoopback() {
		return nil, fmt.Errorf("knative: API server %s is not on this machine's loopback: real Knative runs in network namespaces of this machine only on the local cluster", c.REST.Host)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("knative: %w", err)
	}
	dc, err := applyObjects(ctx, c, o.BinDir, podIP)
	if err != nil {
		return nil, err
	}

	s := &Serving{opts: o}
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	if o.Placement != nil {
		err = s.startPlaced(ctx, c)
	} else {
		err = s.startLocal(ctx, c, api)
	}
	if err != nil {
		return nil, err
	}
	if s.ingress, err = StartIngressStatusWriter(ctx, dc, o.Logf); err != nil {
		return nil, fmt.Errorf("knative: %w", err)
	}
	s.comps = append(s.comps,
		Component{Name: "webhook", Real: false, Version: Version, Note: "not run: the API server calls admission webhooks at their Service's ClusterIP and there is no kube-proxy; reconcilers default objects in memory and ksvcs carry the autoscaling class annotation the webhook would add"},
		Component{Name: "ingress", Real: false, Note: "modelled: kdbench's IngressStatusWriter marks each KIngress Ready (no Envoy/Kourier); requests go straight to the activator"},
	)
	o.Logf("knative: Serving %s (Knative %s) running %s after install began; activator at %s; logs in %s",
		Version, Release, time.Since(began).Round(time.Millisecond), s.ActivatorURL(), s.logDir())
	return s, nil
}

// applyObjects applies Serving's CRDs and ConfigMaps with kdbench's
// settings, activator-service with its Endpoints at activator, and deletes
// stale leader leases.
func applyObjects(ctx context.Context, c *clusters.Cluster, binDir, activator string) (dynamic.Interface, error) {
	cs, err := kubernetes.NewForConfig(c.REST)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(c.REST)
	if err != nil {
		return nil, err
	}
	objs, err := readManifests(ConfigDir(binDir))
	if err != nil {
		return nil, err
	}
	if err := withSettings(objs, Settings); err != nil {
		return nil, err
	}
	if err := apply(ctx, dc, objs); err != nil {
		return nil, fmt.Errorf("knative: %w", err)
	}
	if err := activatorService(ctx, cs, activator); err != nil {
		return nil, fmt.Errorf("knative: %w", err)
	}
	// Leader leases of an earlier installation killed without releasing them
	// would hold back every reconciler until they expire. Install assumes it
	// is the cluster's only Knative.
	if err := cs.CoordinationV1().Leases(SystemNamespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return nil, fmt.Errorf("knative: deleting stale leader leases in %s: %w", SystemNamespace, err)
	}
	return dc, nil
}

// startLocal starts the components in network namespaces of this machine.
func (s *Serving) startLocal(ctx context.Context, c *clusters.Cluster, api *url.URL) (err error) {
	o := s.opts
	if s.net, err = newNetwork(ctx); err != nil {
		return err
	}
	// Each component reaches the API server at the kubeconfig's own address,
	// bridged from its namespace's loopback to this machine's.
	for _, comp := range components {
		l, err := netns.Listen(s.net.path(comp.name), "tcp", api.Host)
		if err != nil {
			return fmt.Errorf("knative: API server bridge for the %s: %w", comp.name, err)
		}
		s.bridges = append(s.bridges, netns.NewBridge(l, func(ctx context.Context) (net.Conn, error) {
			return netns.DialContext("")(ctx, "tcp", api.Host)
		}))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("knative: activator bridge: %w", err)
	}
	s.activator = netns.NewBridge(l, func(ctx context.Context) (net.Conn, error) {
		return netns.DialContext(s.net.path("pods"))(ctx, "tcp", activatorIP+":8012")
	})

	// The activator dials the autoscaler by its cluster DNS name; there is no
	// cluster DNS, so its own mount namespace sees this hosts file.
	hosts := filepath.Join(o.Dir, "activator.hosts")
	if err := os.WriteFile(hosts, hostsFile(autoscalerIP), 0o644); err != nil {
		return fmt.Errorf("knative: %w", err)
	}
	ipPath, err := supervisor.LookPath("ip")
	if err != nil {
		return fmt.Errorf("knative: iproute2's ip: %w", err)
	}

	for _, comp := range components {
		env := componentEnv(comp, c.Kubeconfig) // its server address works in every namespace (the bridges)
		args := []string{"netns", "exec", s.net.names[comp.name], "env"}
		args = append(args, envList(env)...)
		bin := filepath.Join(o.BinDir, comp.name)
		if comp.name == "activator" {
			// ip netns exec runs it in a private mount namespace already.
			args = append(args, "sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`, hosts)
		}
		args = append(args, bin)
		log := filepath.Join(o.Dir, comp.name+".log")
		p, err := supervisor.Start(supervisor.Spec{Name: "knative-" + comp.name, Path: ipPath, Args: args, Log: log, Dir: o.Dir, Attached: true})
		if err != nil {
			return fmt.Errorf("knative: %w", err)
		}
		s.procs = append(s.procs, p)
		s.comps = append(s.comps, Component{Name: comp.name, Real: true, Version: Version, Log: log})
		// In order: the activator's first dial to the autoscaler then finds it.
		if err := supervisor.WaitHealthy(ctx, p, comp.healthy(s), o.Timeout); err != nil {
			return fmt.Errorf("knative: %w", errors.Join(err, supervisor.Exited(s.procs, p)))
		}
	}
	return nil
}

// componentEnv is the environment of comp, reading the cluster through
// kubeconfig: what Serving's Deployments give their containers.
func componentEnv(comp component, kubeconfig string) map[string]string {
	env := map[string]string{
		"KUBECONFIG":                kubeconfig,
		"SYSTEM_NAMESPACE":          SystemNamespace,
		"POD_NAME":                  comp.name + "-kdbench",
		"CONFIG_LOGGING_NAME":       "config-logging",
		"CONFIG_OBSERVABILITY_NAME": "config-observability",
		"CLUSTER_DOMAIN":            "cluster.local",
	}
	for k, v := range comp.env {
		env[k] = v
	}
	return env
}

// envList is env as sorted KEY=value arguments (env(1)'s).
func envList(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// hostsFile names the autoscaler's Service at addr, for the activator,
// which dials it by its cluster DNS name.
func hostsFile(addr string) []byte {
	return []byte(fmt.Sprintf("127.0.0.1 localhost\n%s autoscaler.%s.svc.cluster.local autoscaler.%s.svc autoscaler.%s\n",
		addr, SystemNamespace, SystemNamespace, SystemNamespace))
}

// activatorService is activator-service without a selector (the activator
// is no pod) and its Endpoints at ip, the activator's POD_IP: the serverless services' proxy mode and the
// activator's own subsetting read them.
func activatorService(ctx context.Context, cs kubernetes.Interface, ip string) error {
	ports := []struct {
		name       string
		port, trgt int32
	}{{"http", 80, 8012}, {"http2", 81, 8013}, {"http-metrics", 9090, 9090}, {"http-profiling", 8008, 8008}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "activator-service", Namespace: SystemNamespace, Labels: map[string]string{"app": "activator"}}}
	ep := &corev1.Endpoints{ObjectMeta: svc.ObjectMeta, Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: ip}}}}}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: p.name, Port: p.port, TargetPort: intstr.FromInt32(p.trgt)})
		ep.Subsets[0].Ports = append(ep.Subsets[0].Ports, corev1.EndpointPort{Name: p.name, Port: p.trgt})
	}
	if _, err := cs.CoreV1().Services(SystemNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Service %s/activator-service: %w", SystemNamespace, err)
	}
	if _, err := cs.CoreV1().Endpoints(SystemNamespace).Create(ctx, ep, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cs.CoreV1().Endpoints(SystemNamespace).Update(ctx, ep, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating Endpoints %s/activator-service: %w", SystemNamespace, err)
		}
	} else if err != nil {
		return fmt.Errorf("creating Endpoints %s/activator-service: %w", SystemNamespace, err)
	}
	return nil
}

// tcpCheck is healthy once addr accepts a connection dialed from the
// namespace at path: Serving's health endpoints answer only kubelet-style
// probes, and an open listener is what the next component needs.
func tcpCheck(path, addr string) supervisor.Check {
	return func(ctx context.Context, _ int) error {
		c, err := netns.DialContext(path)(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// ActivatorURL is the real activator's HTTP port as the harness reaches
// it (locally a loopback port bridged into its namespace; placed, the
// control-plane host's address): send requests with the
// Knative-Serving-Revision and Knative-Serving-Namespace headers.
func (s *Serving) ActivatorURL() string {
	if s.placed != nil {
		return "http://" + net.JoinHostPort(s.opts.Placement.Host.Addr, "8012")
	}
	return "http://" + s.activator.Addr().String()
}

// PodNetns is the network namespace (a path under /run/netns) in which
// every address of the pod CIDR is local: each pod's queue-proxy
// endpoints must listen there at the pod's IP (docs/knative.md). "" when
// placed on a multi-host cluster: there each worker host's own namespace
// holds its agent's pod range as local addresses.
func (s *Serving) PodNetns() string {
	if s.net == nil {
		return ""
	}
	return s.net.path("pods")
}

// Components says which pieces are real Knative and which are modelled.
func (s *Serving) Components() []Component { return append([]Component(nil), s.comps...) }

// Logs names each running component's log, for error messages.
func (s *Serving) Logs() string {
	var b strings.Builder
	for _, c := range s.comps {
		if c.Log != "" {
			fmt.Fprintf(&b, "%s: %s\n", c.Name, c.Log)
		}
	}
	return b.String()
}

// logDir says where the components' logs are.
func (s *Serving) logDir() string {
	if s.placed != nil {
		return s.opts.Placement.Host.Name + ":" + s.placed.logDir()
	}
	return s.opts.Dir
}

// Exited names components that no longer run, with their logs' tails.
func (s *Serving) Exited() error {
	if s.placed != nil {
		return s.placed.exited(nil)
	}
	return supervisor.Exited(s.procs, nil)
}

// Close stops the components and removes the bridges and namespaces; the
// cluster's objects stay (they go with the cluster).
func (s *Serving) Close(ctx context.Context) error {
	if s.ingress != nil {
		s.ingress.Stop()
	}
	var errs []error
	if s.placed != nil {
		errs = append(errs, s.placed.close(ctx))
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop(5 * time.Second)
	}
	for _, b := range s.bridges {
		_ = b.Close()
	}
	if s.activator != nil {
		_ = s.activator.Close()
	}
	if s.net != nil {
		if err := s.net.remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("knative: removing its network namespaces: %w", err))
		}
	}
	return errors.Join(errs...)
}
