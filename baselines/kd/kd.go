// Package kd is the bundled Kubedirect system: the upstream Deployment
// controller, ReplicaSet controller and scheduler wrapped as Kubedirect hops
// (kubedirect/controllers), each its own process, and the cluster's own
// node agent in direct mode; "kd+" is the same with the 200 ms sandbox
// lifecycle.
//
// Prepare restarts the cluster's node agents in direct mode
// (clusters.Reconfigurer, restored at Teardown: on every worker host its
// agent's --direct-listen on that host's address, advertised on its nodes
// as kubedirect.io/agent), then starts,
// downstream first, through the cluster's placer (docs/placement.md):
//
//	kdbench internal kd-scheduler   on the control-plane host: binds managed pods over the link to the agent of each node
//	kdbench internal kd-replicaset  on the control-plane host: creates/tombstones managed pods over the link
//	kdbench internal kd-deployment  on the control-plane host: scales managed ReplicaSets over the link
//
// and holds the autoscaler hop in the harness process. Scale writes the
// Deployment's scale subresource, as for every system (the artifact's first
// hop is the API server too); ScaleOverLink sends it over the autoscaler's
// link instead, for the failover experiment's autoscaler cases. A cluster
// without a placer is refused.
//
// Every link is mutual TLS with certificates issued at Prepare from a link
// CA kdbench keeps beside the kubeconfig (whatever the cluster CA's key
// type), placed as files on each hop's host; each hop accepts only its
// expected peer (System.InsecureLinks turns this off, to measure what it
// costs).
//
// The cluster's kube-controller-manager runs without its deployment and
// replicaset controllers while kd is prepared (clusters.Reconfigurer;
// restored at Teardown): they must not act on managed ReplicaSets, and
// kd's wrapped controllers serve unmanaged Deployments too.
package kd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/fault"
	"github.com/kdbench/kdbench/internal/freeport"
	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// PlusSandboxDelay is the "+" lifecycle's sandbox delay (as k8s+).
const PlusSandboxDelay = 200 * time.Millisecond

// nodeAgent is the cluster's node-agent component (clusters/local), which
// kd reconfigures into direct mode, and nodeAgentProc the name kd gives it
// among its processes (Endpoints; the failover experiment's target).
const (
	nodeAgent     = "nodeagent"
	nodeAgentProc = "kd-nodeagent"
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
	// Bin is the kdbench executable on the cluster's hosts that runs the
	// processes (default: the placer's, the cluster's own kdbench).
	Bin string
	// InsecureLinks turns mutual TLS on the Kubedirect links off (it is on
	// by default, with certificates from kdbench's link CA).
	InsecureLinks bool
	// LinkProxies routes every link through a TCP proxy that can cut or
	// slow it (Link), for the failover experiment.
	LinkProxies bool

	mu     sync.Mutex
	placer clusters.Placer
	procs  []*placed // in start order, downstream first
	cancel context.CancelFunc
	scaler *adapter.Hop
	// scalerConfig restarts the autoscaler hop (Restart "kd-autoscaler").
	scalerConfig adapter.HopConfig
	// reconfigurer restores the cluster's components kd reconfigured (the
	// controller-manager, the node agent of each worker host), in
	// reconfigured.
	reconfigurer clusters.Reconfigurer
	reconfigured []reconfigured
	// proxies by the link's downstream hop; the link into the node agent of
	// worker host h is "nodeagent.h" (Link("nodeagent"): the first's).
	proxies map[string]*fault.Proxy
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
// (kd-deployment, kd-replicaset, kd-scheduler, and kd-nodeagent: the
// cluster's node agent), each serving /metrics and /hops (kd-nodeagent also
// /timings and /pods), for collectors.
func (s *System) Endpoints() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.endpoints {
		out[k] = v
	}
	return out
}

// NodeAgent is the base URL of the cluster's node agent, in direct mode
// while kd is prepared, which serves /timings and /pods for the pods kd runs.
func (s *System) NodeAgent() string { return s.Endpoints()[nodeAgentProc] }

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

func freeAddr() (string, error) { return freeport.Addr("127.0.0.1") }

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
	cp, workers, err := hosts(c, s.name)
	if err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kd: %w", err)
	}
	s.placer = c.Placer
	defer func() {
		if err != nil {
			err = errors.Join(err, s.stopLocked(context.Background(), env))
		}
	}()
	if err := s.withoutKCMControllers(ctx, c, cp); err != nil {
		return err
	}
	qps, burst, workersFlag, par, sqps, sburst, pct := tuning(c.QPSProfile)
	kc := "--kubeconfig=kubeconfig"
	at := map[string]clusters.Host{"nodeagent": workers[0], "scheduler": cp, "replicaset": cp, "deployment": cp}
	addr := map[string]string{}
	for i, n := range linkHops {
		for k, kind := range []string{"", "-metrics"} {
			if n == nodeAgent && kind != "" {
				continue // the cluster's agent serves its metrics where it did
			}
			if addr[n+kind], err = hostAddr(at[n], 2*i+k); err != nil {
				return err
			}
		}
	}
	dial, err := s.proxyLinks(cp, addr)
	if err != nil {
		return err
	}
	var mtls *linkTLS // nil: plaintext links
	if !s.InsecureLinks {
		if mtls, err = newLinkTLS(c.Kubeconfig); err != nil {
			return err
		}
	}
	agents, err := s.directMode(ctx, c, mtls, workers, addr[nodeAgent], dial[nodeAgent])
	if err != nil {
		return err
	}
	specs := []struct {
		name string
		args []string
	}{
		// No --nodeagent: the hop links to the agents its nodes' kubedirect.io/agent name.
		{"kd-scheduler", []string{kc, "--listen=" + addr["scheduler"], "--metrics-addr=" + addr["scheduler-metrics"],
			"--parallelism=" + par,
			"--percentage-of-nodes-to-score=" + pct, "--kube-api-qps=" + sqps, "--kube-api-burst=" + sburst}},
		{"kd-replicaset", []string{kc, "--listen=" + addr["replicaset"], "--metrics-addr=" + addr["replicaset-metrics"],
			"--scheduler=" + dial["scheduler"], "--workers=" + workersFlag, "--kube-api-qps=" + qps, "--kube-api-burst=" + burst}},
		{"kd-deployment", []string{kc, "--listen=" + addr["deployment"], "--metrics-addr=" + addr["deployment-metrics"],
			"--replicaset=" + dial["replicaset"], "--workers=" + workersFlag, "--kube-api-qps=" + qps, "--kube-api-burst=" + burst}},
	}
	s.endpoints = map[string]string{}
	if u := c.Endpoints[nodeAgent]; u != "" { // the local cluster's one agent
		s.endpoints[nodeAgentProc] = u
	}
	// A cluster with an agent per worker host names each agent's metrics
	// (/hops, /timings) nodeagent.<host>: the harness reads every agent's
	// end of the scheduler's links.
	for _, w := range workers {
		if u := c.Endpoints[nodeAgent+"."+w.Name]; u != "" {
			s.endpoints[nodeAgentProc+"."+w.Name] = u
		}
	}
	for _, sp := range specs {
		hop := strings.TrimPrefix(sp.name, "kd-") // process kd-<hop> runs hop <hop>
		files, tlsArgs, err := mtls.files(hop)
		if err != nil {
			return err
		}
		pl := &placed{host: at[hop], metrics: "http://" + addr[hop+"-metrics"], comp: clusters.Component{
			Name: sp.name, Path: s.Bin,
			Args:  append(append([]string{"internal", sp.name}, sp.args...), tlsArgs...),
			Files: append([]clusters.File{{Path: "kubeconfig", Data: kubeconfig}}, files...)}}
		if err := startPlaced(ctx, s.placer, pl); err != nil {
			return err
		}
		s.procs = append(s.procs, pl)
		s.endpoints[sp.name] = pl.metrics
	}
	// Every hop is ready once its downstream resynced, so the deployment
	// hop's readiness implies the whole chain's.
	for _, pl := range s.procs {
		if err := waitReady(ctx, pl); err != nil {
			return errors.Join(err, exited(s.procs, pl))
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
		env.Logf("%s: Kubedirect processes up (hops on %s, the cluster's node agents in direct mode for its %d nodes: %s; %s links); logs: %s",
			s.name, cp.Name, c.Nodes, strings.Join(agents, ", "), sec, path.Dir(s.procs[0].proc.Log()))
	}
	return nil
}

// directMode restarts the cluster's node agent on every worker host
// serving Kubedirect's direct mode (docs/placement.md): its link on the
// host's own address (listen gives the port: a free one on this machine,
// else kd's fixed one), advertised on its nodes as kubedirect.io/agent
// (where the scheduler hop dials it: with LinkProxies, a fault proxy of its
// own on the control-plane host; the first worker's is dial), with the
// nodeagent hop's link identity as files in its directory. Teardown (or a
// failed Prepare) restores each to API mode, which removes the annotation.
// It returns "host: link" per agent, for the log.
func (s *System) directMode(ctx context.Context, c *clusters.Cluster, mtls *linkTLS, workers []clusters.Host, listen, dial string) ([]string, error) {
	files, tlsArgs, err := mtls.files(nodeAgent)
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("%s: node agent link address %q: %w", s.name, listen, err)
	}
	var out []string
	for i, w := range workers {
		l, advertise := listen, dial
		if i > 0 {
			l = net.JoinHostPort(w.Addr, port)
			if advertise, err = s.proxyAgent(w, l); err != nil {
				return nil, err
			}
		}
		if err := s.reconfigure(ctx, c, w, nodeAgent, directFlags(l, advertise, tlsArgs), files); err != nil {
			return nil, err
		}
		out = append(out, w.Name+": "+advertise)
	}
	return out, nil
}

// directFlags are the flags that make the cluster's node agent serve
// Kubedirect's direct mode (docs/placement.md).
func directFlags(listen, advertise string, tlsArgs []string) []string {
	return append([]string{"--direct-listen=" + listen, "--direct-advertise=" + advertise}, tlsArgs...)
}

// exited names the processes of ps, except one, that no longer run, with
// their logs' tails: a hop that is not ready often waits on one that died.
func exited(ps []*placed, except *placed) error {
	var errs []error
	for _, pl := range ps {
		if pl != except && !pl.proc.Alive() {
			errs = append(errs, fmt.Errorf("%s on %s exited; see %s:\n%s", pl.proc.Name(), pl.host.Name, pl.proc.Log(), pl.proc.LogTail(15)))
		}
	}
	return errors.Join(errs...)
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
	for _, pl := range s.procs {
		if pl.comp.Name != name {
			continue
		}
		pl.proc.Stop(0) // SIGKILL to the group
		if err := startPlaced(ctx, s.placer, pl); err != nil {
			return err
		}
		return waitReady(ctx, pl)
	}
	return fmt.Errorf("%s: no process %q", s.name, name)
}

// Signal sends sig to a Kubedirect process (kd-deployment, kd-replicaset,
// kd-scheduler) and returns once it took effect: the failover experiment
// stalls one with SIGSTOP (fault.Stall). The node agent is the cluster's:
// its provider crashes and stalls it.
func (s *System) Signal(ctx context.Context, name string, sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pl := range s.procs {
		if pl.comp.Name == name {
			return pl.proc.Signal(ctx, sig)
		}
	}
	return fmt.Errorf("%s: no process %q", s.name, name)
}

// Processes implements baselines.Processes: the pids of the processes on
// this machine (a local cluster's), whose memory the harness samples.
func (s *System) Processes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, pl := range s.procs {
		if ip := net.ParseIP(pl.host.Addr); ip != nil && ip.IsLoopback() && pl.proc.Alive() {
			out[pl.comp.Name] = pl.proc.PID()
		}
	}
	return out
}

// Dead names the hops and node agents of this system that exited
// (baselines.Live).
func (s *System) Dead() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return exited(s.procs, nil)
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
		if s.procs[i].proc != nil {
			s.procs[i].proc.Stop(5 * time.Second)
		}
	}
	s.procs = nil
	s.closeProxies()
	return s.restoreCluster(ctx)
}

// kcmComponent is the cluster's controller-manager, and kcmWithout the
// flag that runs it without the controllers kd replaces.
const (
	kcmComponent = "kube-controller-manager"
	kcmWithout   = "--controllers=*,-deployment,-replicaset"
)

// withoutKCMControllers restarts the cluster's controller-manager without
// its deployment and replicaset controllers, so they cannot act while kd's
// controllers serve every Deployment; Teardown (or a failed Prepare)
// restores it.
func (s *System) withoutKCMControllers(ctx context.Context, c *clusters.Cluster, cp clusters.Host) error {
	if c.Reconfigurer == nil {
		why := ""
		if c.ReconfigureRefusal != "" {
			why = ": " + c.ReconfigureRefusal
		}
		return baselines.AsRefusal(fmt.Errorf("%s: cluster %q (provider %s) cannot restart its %s without its deployment and replicaset controllers, which must not act beside Kubedirect's, nor its node agents in direct mode%s",
			s.name, c.Name, c.Provider, kcmComponent, why))
	}
	return s.reconfigure(ctx, c, cp, kcmComponent, []string{kcmWithout}, nil)
}

// reconfigured is a component kd restarted with other flags, on its host.
type reconfigured struct {
	host      clusters.Host
	component string
}

// reconfigure restarts the cluster's component with extra flags and files,
// recorded first so that restoreCluster restores it even if the restart
// failed halfway.
func (s *System) reconfigure(ctx context.Context, c *clusters.Cluster, h clusters.Host, component string, extra []string, files []clusters.File) error {
	s.reconfigurer = c.Reconfigurer
	s.reconfigured = append(s.reconfigured, reconfigured{h, component})
	if err := c.Reconfigurer.Reconfigure(ctx, h, component, extra, files); err != nil {
		return fmt.Errorf("%s: restarting the cluster's %s on %s with %q: %w", s.name, component, h.Name, extra, err)
	}
	return nil
}

// restoreCluster restores the components kd reconfigured, last first.
func (s *System) restoreCluster(ctx context.Context) error {
	var errs []error
	for i := len(s.reconfigured) - 1; i >= 0; i-- {
		r := s.reconfigured[i]
		if err := s.reconfigurer.Reconfigure(ctx, r.host, r.component, nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: restoring the cluster's %s on %s: %w", s.name, r.component, r.host.Name, err))
		}
	}
	s.reconfigured = nil
	return errors.Join(errs...)
}
