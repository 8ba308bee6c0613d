// Package kd is the bundled Kubedirect system: the upstream Deployment
// controller, ReplicaSet controller and scheduler wrapped as Kubedirect hops
// (kubedirect/controllers), each its own process, and a node agent in
// direct mode; "kd+" is the same with the 200 ms sandbox lifecycle.
//
// Prepare starts, downstream first:
//
//	kdbench internal kd-nodeagent   own simulated nodes (prefix kd-direct-node-), pods from the link
//	kdbench internal kd-scheduler   binds managed pods onto those nodes over the link
//	kdbench internal kd-replicaset  creates/tombstones managed pods over the link
//	kdbench internal kd-deployment  scales managed ReplicaSets over the link
//
// and holds the autoscaler hop in the harness process. Scale writes the
// Deployment's scale subresource, as for every system (the artifact's first
// hop is the API server too); ScaleOverLink sends it over the autoscaler's
// link instead, for the failover experiment's autoscaler cases.
//
// Every link is mutual TLS with certificates issued at Prepare from the
// cluster CA; each hop accepts only its expected peer (System.InsecureLinks
// turns this off, to measure what it costs).
//
// Two workarounds stand in for cluster options that the local provider does
// not have yet (see the package README): the node agent runs as kd's own
// process with its own nodes instead of the cluster's agent in direct mode,
// and the cluster's kube-controller-manager deployment and replicaset
// controllers are fenced off by removing their RBAC bindings for the
// system's lifetime (they must not act on managed ReplicaSets; kd's wrapped
// controllers serve unmanaged Deployments too).
package kd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/fault"
	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// PlusSandboxDelay is the "+" lifecycle's sandbox delay (as k8s+).
const PlusSandboxDelay = 200 * time.Millisecond

// Node facts of kd's own direct-mode node agent.
const (
	NodePrefix    = "kd-direct-node-"
	NodeLabel     = "kubedirect.io/direct"
	directPodCIDR = "10.0.0.0/10" // apart from the cluster agent's 10.128.0.0/9
	directNodeIPs = "192.168.0.0/16"
)

func init() {
	baselines.Register(&System{name: "kd"})
	baselines.Register(&System{name: "kd+", sandboxDelay: PlusSandboxDelay})
	// kd with plaintext links: run beside kd, it prices mutual TLS.
	baselines.Register(&System{name: "kd-insecure", InsecureLinks: true})
}

// System is Kubedirect on the cluster.
type System struct {
	name         string
	sandboxDelay time.Duration
	// Bin is the kdbench executable that runs the processes (default
	// $KDBENCH_BIN, else the running executable).
	Bin string
	// InsecureLinks turns mutual TLS on the Kubedirect links off (it is on
	// by default, with certificates from the cluster CA).
	InsecureLinks bool
	// LinkProxies routes every link through a TCP proxy that can cut or
	// slow it (Link), for the failover experiment.
	LinkProxies bool

	mu     sync.Mutex
	procs  []*proc
	cancel context.CancelFunc
	scaler *adapter.Hop
	// scalerConfig restarts the autoscaler hop (Restart "kd-autoscaler").
	scalerConfig adapter.HopConfig
	bindings     []*rbacv1.ClusterRoleBinding
	proxies      map[string]*fault.Proxy // by the link's downstream hop
	// Endpoints are the processes' /metrics, /hops and /timings base URLs.
	endpoints map[string]string
}

// New returns an unregistered system (tests).
func New(name string, sandboxDelay time.Duration, bin string) *System {
	return &System{name: name, sandboxDelay: sandboxDelay, Bin: bin}
}

func (s *System) Name() string { return s.name }

func (s *System) Cluster(spec clusters.Spec) clusters.Spec {
	spec.SandboxDelay = s.sandboxDelay
	return spec
}

func (s *System) Stages() []string { return baselines.KubernetesStages }

// DecorateDeployment marks a workload Deployment as Kubedirect-managed (on
// the object and its pod template); the burst runner must call it before
// creating the Deployment.
func (s *System) DecorateDeployment(d *appsv1.Deployment) { Manage(d) }

// Manage labels d and its pod template kubedirect.io/managed=true.
func Manage(d *appsv1.Deployment) {
	if d.Labels == nil {
		d.Labels = map[string]string{}
	}
	if d.Spec.Template.Labels == nil {
		d.Spec.Template.Labels = map[string]string{}
	}
	d.Labels[egress.ManagedLabel] = "true"
	d.Spec.Template.Labels[egress.ManagedLabel] = "true"
}

// Endpoints returns the Kubedirect processes' base URLs by name
// (kd-deployment, kd-replicaset, kd-scheduler, kd-nodeagent), each serving
// /metrics and /hops (kd-nodeagent also /timings), for collectors.
func (s *System) Endpoints() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.endpoints {
		out[k] = v
	}
	return out
}

// NodeAgent is the base URL of kd's direct-mode node agent, which serves
// /timings for the pods kd runs.
func (s *System) NodeAgent() string { return s.Endpoints()["kd-nodeagent"] }

// tuning is the client and concurrency settings of the components kd
// replaces, per QPS profile (clusters/local.Profiles); pct is the
// scheduler's percentageOfNodesToScore ("0": adaptive).
func tuning(profile string) (qps, burst, workers, parallelism string, schedQPS, schedBurst, pct string) {
	switch profile {
	case "tuned":
		return "10000", "20000", "100", "50", "10000", "20000", "0"
	case "artifact": // 100 concurrent syncs, parallelism 50, default client QPS
		return "20", "30", "100", "50", "50", "100", "5"
	}
	return "20", "30", "5", "16", "50", "100", "0"
}

// Prepare starts the Kubedirect processes and the autoscaler hop. Their
// ports are picked free before the processes bind them, so another process
// can take one in between; a start that failed only for that is retried.
func (s *System) Prepare(ctx context.Context, env baselines.Env) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return fmt.Errorf("%s: already prepared", s.name)
	}
	const attempts = 3
	for i := 1; ; i++ {
		err := s.prepareLocked(ctx, env)
		if err == nil || i == attempts || ctx.Err() != nil || !portTaken(err) {
			return err
		}
		if env.Logf != nil {
			env.Logf("%s: a picked port was taken by another process meanwhile; retrying with fresh ports (attempt %d of %d)", s.name, i+1, attempts)
		}
	}
}

// portTaken tells a process that exited because its port was taken.
func portTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "exited during start-up") && strings.Contains(msg, "address already in use")
}

func (s *System) prepareLocked(ctx context.Context, env baselines.Env) (err error) {
	c := env.Cluster
	if c == nil || c.Kubeconfig == "" {
		return errors.New("kd: the cluster has no kubeconfig")
	}
	bin := s.Bin
	if bin == "" {
		bin = os.Getenv("KDBENCH_BIN")
	}
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return err
		}
	}
	logs := filepath.Join(filepath.Dir(c.Kubeconfig), "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.stopLocked(context.Background(), env)
		}
	}()
	if err := s.fenceKCM(ctx, env); err != nil {
		return err
	}
	qps, burst, workers, par, sqps, sburst, pct := tuning(c.QPSProfile)
	kc := "--kubeconfig=" + c.Kubeconfig
	addr := map[string]string{}
	for _, n := range []string{"nodeagent", "scheduler", "replicaset", "deployment"} {
		for _, kind := range []string{"", "-metrics"} {
			a, err := freeAddr()
			if err != nil {
				return err
			}
			addr[n+kind] = a
		}
	}
	dial, err := s.proxyLinks(addr)
	if err != nil {
		return err
	}
	var mtls *linkTLS // nil: plaintext links
	if !s.InsecureLinks {
		if mtls, err = newLinkTLS(c.Kubeconfig); err != nil {
			return err
		}
	}
	specs := []struct {
		name string
		args []string
	}{
		{"kd-nodeagent", []string{kc, "--listen=" + addr["nodeagent"], "--metrics-addr=" + addr["nodeagent-metrics"],
			"--nodes=" + strconv.Itoa(max(c.Nodes, 1)), "--node-name-prefix=" + NodePrefix, "--node-labels=" + NodeLabel + "=true",
			"--pod-cidr=" + directPodCIDR, "--node-ip-range=" + directNodeIPs, "--sandbox-delay=" + c.SandboxDelay.String()}},
		{"kd-scheduler", []string{kc, "--listen=" + addr["scheduler"], "--metrics-addr=" + addr["scheduler-metrics"],
			"--nodeagent=" + dial["nodeagent"], "--node-selector=" + NodeLabel + "=true", "--parallelism=" + par,
			"--percentage-of-nodes-to-score=" + pct, "--kube-api-qps=" + sqps, "--kube-api-burst=" + sburst}},
		{"kd-replicaset", []string{kc, "--listen=" + addr["replicaset"], "--metrics-addr=" + addr["replicaset-metrics"],
			"--scheduler=" + dial["scheduler"], "--workers=" + workers, "--kube-api-qps=" + qps, "--kube-api-burst=" + burst}},
		{"kd-deployment", []string{kc, "--listen=" + addr["deployment"], "--metrics-addr=" + addr["deployment-metrics"],
			"--replicaset=" + dial["replicaset"], "--workers=" + workers, "--kube-api-qps=" + qps, "--kube-api-burst=" + burst}},
	}
	s.endpoints = map[string]string{}
	for _, sp := range specs {
		// Process kd-<hop> runs hop <hop>.
		tlsArgs, err := mtls.flags(strings.TrimPrefix(sp.name, "kd-"))
		if err != nil {
			return err
		}
		args := append(append([]string{"internal", sp.name}, sp.args...), tlsArgs...)
		p, err := start(sp.name, bin, filepath.Join(logs, sp.name+".log"), args...)
		if err != nil {
			return err
		}
		s.procs = append(s.procs, p)
		s.endpoints[sp.name] = "http://" + addr[strings.TrimPrefix(sp.name, "kd-")+"-metrics"]
	}
	// Every hop is ready once its downstream resynced, so the deployment
	// hop's readiness implies the whole chain's.
	for _, p := range s.procs {
		if err := p.waitReady(ctx, s.endpoints[p.name]+"/readyz", 2*time.Minute); err != nil {
			return errors.Join(err, exited(s.procs, p))
		}
	}
	creds, err := mtls.credentials(refhops.Autoscaler)
	if err != nil {
		return err
	}
	s.scalerConfig = adapter.HopConfig{Name: refhops.Autoscaler,
		Down:   map[string]string{refhops.Deployment: dial["deployment"]},
		Router: hop.RouterFuncs{DownstreamFunc: adapter.KindTo(wire.KindDeployment, refhops.Deployment)}, TLS: creds}
	if err := s.startScalerLocked(ctx); err != nil {
		return err
	}
	if env.Logf != nil {
		sec := "mutual TLS"
		if mtls == nil {
			sec = "plaintext"
		}
		env.Logf("%s: Kubedirect processes up (%d direct-mode nodes, %s links); logs in %s", s.name, c.Nodes, sec, logs)
	}
	return nil
}

// Scale writes the Deployment's scale subresource, the same one API write
// that starts every system's burst (the artifact's driver scales kd so too:
// its first hop, autoscaler → Deployment controller, is the API server);
// kd-deployment learns the replicas from its Deployment informer.
func (s *System) Scale(ctx context.Context, env baselines.Env, namespace, function string, replicas int32) error {
	s.mu.Lock()
	prepared := s.scaler != nil
	s.mu.Unlock()
	if !prepared {
		return fmt.Errorf("%s: scale %s/%s before Prepare", s.name, namespace, function)
	}
	return baselines.ScaleDeployment(ctx, env.Client, namespace, function, replicas)
}

// ScaleOverLink sends the desired replicas over the autoscaler →
// Deployment link instead (kdbench's extension of the chain): from then on
// the link's record, not the API object, sets that Deployment's replicas,
// so every later scale of it must come this way too. The failover
// experiment's autoscaler cases use it, the one place the autoscaler hop is
// on the scale-out path.
func (s *System) ScaleOverLink(ctx context.Context, env baselines.Env, namespace, function string, replicas int32) error {
	s.mu.Lock()
	h := s.scaler
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("%s: scale %s/%s before Prepare", s.name, namespace, function)
	}
	d, err := env.Client.AppsV1().Deployments(namespace).Get(ctx, function, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("%s: scale %s/%s: %w", s.name, namespace, function, err)
	}
	if !egress.Managed(d) || !egress.Managed(&d.Spec.Template) {
		return fmt.Errorf("%s: deployment %s/%s is not Kubedirect-managed: label it and its pod template %s=true (System.DecorateDeployment)",
			s.name, namespace, function, egress.ManagedLabel)
	}
	return egress.New(h).Scale(ctx, wire.KindDeployment, namespace, function, replicas)
}

// Autoscaler is the name Restart gives the in-process autoscaler hop.
const Autoscaler = "kd-autoscaler"

// startScalerLocked starts the autoscaler hop, a new incarnation with an
// empty log, and waits until it has resynced with the Deployment hop.
func (s *System) startScalerLocked(ctx context.Context) (err error) {
	hctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.scaler, err = adapter.StartHop(hctx, s.scalerConfig); err != nil {
		return err
	}
	return s.scaler.WaitSynced(ctx)
}

// Restart kills one Kubedirect process (SIGKILL: a crash, no goodbye on its
// links) and starts it again empty, as in the paper's failure experiment;
// it returns once the restarted hop has resynced with its downstream peer.
// Autoscaler names the in-process autoscaler hop: its incarnation is
// cancelled and a new, empty one started.
func (s *System) Restart(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == Autoscaler {
		if s.cancel == nil {
			return fmt.Errorf("%s: restart %s before Prepare", s.name, name)
		}
		s.cancel()
		return s.startScalerLocked(ctx)
	}
	for i, p := range s.procs {
		if p.name != name {
			continue
		}
		p.stop(0)
		np, err := start(p.name, p.bin, p.log, p.args...)
		if err != nil {
			return err
		}
		s.procs[i] = np
		return np.waitReady(ctx, s.endpoints[name]+"/readyz", 2*time.Minute)
	}
	return fmt.Errorf("%s: no process %q", s.name, name)
}

// PID is the process id of a running Kubedirect process (kd-deployment,
// kd-replicaset, kd-scheduler, kd-nodeagent), 0 if none: the failover
// experiment stalls one with SIGSTOP (fault.Stall).
func (s *System) PID(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if p.name == name && p.alive() {
			return p.cmd.Process.Pid
		}
	}
	return 0
}

// Processes implements baselines.Processes.
func (s *System) Processes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, p := range s.procs {
		if p.alive() {
			out[p.name] = p.cmd.Process.Pid
		}
	}
	return out
}

// Teardown stops the processes and restores the KCM's bindings.
func (s *System) Teardown(ctx context.Context, env baselines.Env) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(ctx, env)
}

func (s *System) stopLocked(ctx context.Context, env baselines.Env) error {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.scaler = nil
	// Upstream first, so nothing acts on a half-stopped chain.
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(5 * time.Second)
	}
	s.procs = nil
	s.closeProxies()
	return s.unfenceKCM(ctx, env)
}

// kcmControllers are the controller-manager controllers kd replaces.
var kcmControllers = []string{"system:controller:deployment-controller", "system:controller:replicaset-controller"}

// fenceKCM removes the RBAC bindings of the cluster's own deployment and
// replicaset controllers (unless the KCM runs without them), so they cannot
// write while kd's controllers serve every Deployment; Teardown restores them.
func (s *System) fenceKCM(ctx context.Context, env baselines.Env) error {
	for _, f := range env.Cluster.Flags["kube-controller-manager"] {
		if strings.HasPrefix(f, "--controllers=") && strings.Contains(f, "-replicaset") && strings.Contains(f, "-deployment") {
			return nil
		}
	}
	crbs := env.Client.RbacV1().ClusterRoleBindings()
	for _, name := range kcmControllers {
		b, err := crbs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("kd: fencing the controller-manager's %s: %w", name, err)
		}
		if err := crbs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kd: fencing the controller-manager's %s: %w", name, err)
		}
		b.ResourceVersion, b.UID = "", ""
		s.bindings = append(s.bindings, b)
	}
	return nil
}

func (s *System) unfenceKCM(ctx context.Context, env baselines.Env) error {
	var errs error
	for _, b := range s.bindings {
		if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = errors.Join(errs, fmt.Errorf("kd: restoring %s: %w", b.Name, err))
		}
	}
	s.bindings = nil
	return errs
}
