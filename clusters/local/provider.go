// Package local is the embedded default cluster: embedded etcd, the real
// kube-apiserver, kube-controller-manager and kube-scheduler built from
// k8s.io/kubernetes, and one node agent simulating every kubelet, all as
// processes on 127.0.0.1 under one work directory.
package local

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// ProviderName is the local provider's name on the command line.
const ProviderName = "local"

func init() {
	clusters.Register(ProviderName, func() clusters.Provider { return New(Options{}) })
}

// Options configure the local provider beyond the generic Spec.
type Options struct {
	// Root holds one work directory per cluster (default $KDBENCH_HOME or ./.kdbench).
	Root string
	// BinDir holds kube-apiserver, kube-controller-manager and kube-scheduler.
	BinDir string
	// Self is the kdbench executable that runs etcd and the node agent
	// (default: the running executable).
	Self string
	// APIServerPort fixes the API server's port; 0 picks a free one.
	APIServerPort int
	// Attached ties the cluster's processes to this process: if kdbench dies,
	// even by SIGKILL, the kernel kills them. For ephemeral clusters (tests,
	// `make run`); `cluster up` leaves it off so the cluster outlives it.
	Attached bool
	// EtcdUnsafeNoFsync skips etcd's fsync.
	EtcdUnsafeNoFsync bool
	// StartTimeout bounds each component's start-up (default 60s).
	StartTimeout time.Duration
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Provider implements clusters.Provider for local clusters.
type Provider struct {
	opts Options

	mu    sync.Mutex
	procs map[string][]*proc // clusters this process started, for Down
	plans map[string]*plan   // and how to start their components, for Restart
	// placers run systems' components beside each cluster, for Down.
	placers map[string]*placer
}

// New returns a local provider.
func New(o Options) *Provider {
	if o.Root == "" {
		o.Root = os.Getenv("KDBENCH_HOME")
	}
	if o.Root == "" {
		o.Root = ".kdbench"
	}
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir()
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return &Provider{opts: o, procs: map[string][]*proc{}, plans: map[string]*plan{}, placers: map[string]*placer{}}
}

func (p *Provider) Name() string { return ProviderName }

// CreatesClusters implements clusters.Creator: the local provider makes a
// cluster, with its simulated nodes, per spec.
func (p *Provider) CreatesClusters() bool { return true }

func (p *Provider) layout(name string) (layout, error) {
	if err := validName(name); err != nil {
		return layout{}, err
	}
	root, err := filepath.Abs(filepath.Join(p.opts.Root, "clusters", name))
	if err != nil {
		return layout{}, err
	}
	return layout{root: root}, nil
}

func validName(name string) error {
	if name == "" {
		return errors.New("cluster name is empty")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("cluster name %q: use lower-case letters, digits and '-'", name)
		}
	}
	return nil
}

// Up starts the cluster and waits until every node is Ready. Any failure or
// cancellation stops everything it started; the logs stay for reading.
//
// Ports are picked free and then handed to the components, so another
// process can take one in between (parallel test packages and concurrent
// clusters do): a start that failed only because of that is retried with
// fresh ports.
func (p *Provider) Up(ctx context.Context, spec clusters.Spec) (*clusters.Cluster, error) {
	const attempts = 3
	for i := 1; ; i++ {
		c, err := p.upOnce(ctx, spec)
		if err == nil || i == attempts || ctx.Err() != nil || !portTakenAtStart(err) {
			return c, err
		}
		p.opts.Logf("a port picked for cluster %q was taken by another process meanwhile; retrying with fresh ports (attempt %d of %d)", spec.Name, i+1, attempts)
	}
}

// portTakenAtStart tells a component that lost its port to another process
// (the component exited on EADDRINUSE) from every other start-up failure,
// including a port the user fixed that is already taken, which is not retried.
func portTakenAtStart(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "during start-up") && strings.Contains(msg, "address already in use")
}

func (p *Provider) upOnce(ctx context.Context, spec clusters.Spec) (_ *clusters.Cluster, err error) {
	start := time.Now()
	if spec.Name == "" {
		spec.Name = "kdbench"
	}
	l, err := p.layout(spec.Name)
	if err != nil {
		return nil, err
	}
	if spec.Nodes < 1 || spec.Nodes > 5000 {
		return nil, fmt.Errorf("--nodes %d: want 1 to 5000 simulated nodes", spec.Nodes)
	}
	if spec.SandboxDelay < 0 {
		return nil, fmt.Errorf("--sandbox-delay %s: must not be negative", spec.SandboxDelay)
	}
	prof, err := lookupProfile(spec.QPSProfile)
	if err != nil {
		return nil, err
	}
	self := p.opts.Self
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	versions, err := checkBinaries(ctx, p.opts.BinDir)
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(l.Root(), 0o755); err != nil {
		return nil, err
	}
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if old, err := l.readState(); err != nil {
		return nil, err
	} else if old != nil {
		for _, pr := range old.Procs {
			if pr.Alive() {
				return nil, fmt.Errorf("cluster %q is already running (%s pid %d); stop it with `kdbench cluster down --name %s`", spec.Name, pr.Name, pr.PID, spec.Name)
			}
		}
		if len(old.Procs) > 0 {
			p.opts.Logf("cleaning up stale cluster %q left by an earlier run", spec.Name)
			stopAll(old.Procs)
		}
	}
	// A fresh cluster every time: old etcd data or certificates would make
	// runs depend on what came before.
	if err := wipe(l); err != nil {
		return nil, err
	}
	if err := l.mkdirs(); err != nil {
		return nil, err
	}

	pl := &plan{name: spec.Name, l: l, prof: prof, binDir: p.opts.BinDir, self: self,
		nodes: spec.Nodes, delay: spec.SandboxDelay, noFsync: p.opts.EtcdUnsafeNoFsync, extra: map[string][]string{}}
	if pl.p, err = p.allocatePorts(); err != nil {
		return nil, err
	}
	if err := writePKI(l.PKI()); err != nil {
		return nil, fmt.Errorf("writing certificates: %w", err)
	}
	server := pl.apiserverURL()
	for _, id := range clientIdentities {
		path := l.ComponentKubeconfig(id.file)
		if id.file == "admin" {
			path = l.Kubeconfig()
		}
		if err := writeKubeconfig(l, path, spec.Name, server, id.file); err != nil {
			return nil, fmt.Errorf("writing kubeconfig for %s: %w", id.user, err)
		}
	}
	if err := writeFileAtomic(l.Config("kube-scheduler.yaml"), pl.schedulerConfig(), 0o644); err != nil {
		return nil, err
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig())
	if err != nil {
		return nil, err
	}
	if pl.tlsAdmin, err = tlsConfig(restCfg); err != nil {
		return nil, err
	}

	st := &state{Name: spec.Name, CreatedAt: start.UTC(), QPSProfile: prof.Name, Nodes: spec.Nodes,
		SandboxDelay: spec.SandboxDelay.String(), Server: server, Ports: pl.p, Versions: versions}
	defer func() {
		if err != nil {
			p.opts.Logf("start-up failed; stopping what was started (logs stay in %s)", l.Logs())
			stopAll(st.Procs)
			st.Procs = nil
			_ = l.writeState(st)
		}
	}()
	launch := func(c component) (*proc, error) {
		pr, err := startProcess(c, p.opts.Attached)
		if err != nil {
			return nil, err
		}
		st.Procs = append(st.Procs, pr)
		// Recorded before waiting, so a crash mid-start still finds it.
		return pr, l.writeState(st)
	}
	startAndWait := func(cs ...component) error {
		prs := make([]*proc, len(cs))
		for i, c := range cs {
			pr, err := launch(c)
			if err != nil {
				return err
			}
			prs[i] = pr
		}
		errs := make([]error, len(cs))
		var wg sync.WaitGroup
		for i := range cs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				t := time.Now()
				errs[i] = supervisor.WaitHealthy(ctx, prs[i], cs[i].Healthy, p.opts.StartTimeout)
				if errs[i] == nil {
					p.opts.Logf("  %-24s ready in %s", cs[i].Name, time.Since(t).Round(time.Millisecond))
				}
			}(i)
		}
		wg.Wait()
		return errors.Join(errs...)
	}

	p.opts.Logf("starting cluster %q: %d nodes, QPS profile %s, sandbox delay %s, work dir %s", spec.Name, spec.Nodes, prof.Name, spec.SandboxDelay, l.Root())
	// The API server spends its first second initialising before it dials
	// etcd, and retries until etcd answers: start both at once.
	if err = startAndWait(pl.etcd(), pl.apiserver()); err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	if err = bindNodeAgent(ctx, cs); err != nil {
		return nil, err
	}
	if err = startAndWait(pl.controllerManager(), pl.scheduler(), pl.nodeAgent()); err != nil {
		return nil, err
	}
	ready, err := waitNodesReady(ctx, cs, spec.Nodes, p.opts.StartTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w; see %s and %s", err, l.Log(nodeAgentComponent), l.Log(kcmComponent))
	}
	nodesReady := time.Since(start)
	p.opts.Logf("  %d nodes Ready %s after start", ready, nodesReady.Round(time.Millisecond))
	if err = waitServiceAccount(ctx, cs, p.opts.StartTimeout); err != nil {
		// A component that died after passing its probe is the likely cause.
		if dead := supervisor.Exited(st.Procs, nil); dead != nil {
			return nil, fmt.Errorf("%w; %w", err, dead)
		}
		return nil, fmt.Errorf("%w; see %s", err, l.Log(kcmComponent))
	}
	plc := newPlacer(l, self)
	p.mu.Lock()
	p.procs[spec.Name] = st.Procs
	p.plans[spec.Name] = pl
	p.placers[spec.Name] = plc
	p.mu.Unlock()
	p.opts.Logf("cluster %q usable %s after start; kubeconfig %s", spec.Name, time.Since(start).Round(time.Millisecond), l.Kubeconfig())

	c := &clusters.Cluster{
		Name: spec.Name, Provider: ProviderName, Kubeconfig: l.Kubeconfig(), REST: restCfg,
		Nodes: ready, QPSProfile: prof.Name, QPSProfileSource: "set by the local provider", SandboxDelay: spec.SandboxDelay,
		Components: map[string]string{}, Flags: map[string][]string{},
		Placer: plc, Reconfigurer: reconfigurer{p, spec.Name}, Crasher: crasher{p, spec.Name},
		Startup: map[string]time.Duration{"nodes-ready": nodesReady, "usable": time.Since(start)},
		Endpoints: map[string]string{
			apiserverComponent: server,
			kcmComponent:       fmt.Sprintf("https://127.0.0.1:%d", pl.p.KCM),
			schedComponent:     fmt.Sprintf("https://127.0.0.1:%d", pl.p.Scheduler),
			nodeAgentComponent: fmt.Sprintf("http://127.0.0.1:%d", pl.p.NodeAgentMetrics),
		},
	}
	for k, v := range versions {
		c.Components[k] = v
	}
	c.Components[etcdComponent] = etcdVersion()
	for _, pr := range st.Procs {
		c.Flags[pr.Name] = pr.Args[1:]
	}
	c.Flags[SchedulerConfigKey] = prof.SchedulerSettings()
	return c, nil
}

func (p *Provider) allocatePorts() (ports, error) {
	var pt ports
	if p.opts.APIServerPort != 0 {
		if err := checkPortFree(apiserverComponent, p.opts.APIServerPort); err != nil {
			return pt, err
		}
		pt.APIServer = p.opts.APIServerPort
	}
	for _, f := range []*int{&pt.EtcdClient, &pt.EtcdPeer, &pt.APIServer, &pt.KCM, &pt.Scheduler, &pt.NodeAgentMetrics} {
		if *f != 0 {
			continue
		}
		port, err := freePort()
		if err != nil {
			return pt, fmt.Errorf("finding a free loopback port: %w", err)
		}
		*f = port
	}
	return pt, nil
}

// Down stops every process of the named cluster, whoever started it.
func (p *Provider) Down(ctx context.Context, name string) error {
	l, err := p.layout(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(l.Root()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	p.mu.Lock()
	procs := p.procs[name]
	plc := p.placers[name]
	delete(p.procs, name)
	delete(p.plans, name)
	delete(p.placers, name)
	p.mu.Unlock()
	if plc != nil {
		plc.stopAll() // systems' components first: they use the cluster
	}
	st, err := l.readState()
	if err != nil {
		return err
	}
	if procs == nil && st != nil {
		procs = st.Procs
	}
	stopAll(procs)
	if st != nil {
		st.Procs = nil
		return l.writeState(st)
	}
	return nil
}

// stopAll stops processes in reverse start order: the node agent and
// controllers before the API server, and etcd last.
func stopAll(procs []*proc) {
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(10 * time.Second)
	}
}

// Status reports which components run and how many nodes are Ready.
func (p *Provider) Status(ctx context.Context, name string) (*clusters.Status, error) {
	l, err := p.layout(name)
	if err != nil {
		return nil, err
	}
	s := &clusters.Status{Name: name, Provider: ProviderName, Components: map[string]string{}, Kubeconfig: l.Kubeconfig()}
	st, err := l.readState()
	if err != nil {
		return nil, err
	}
	if st == nil {
		s.Problems = append(s.Problems, fmt.Sprintf("no cluster %q under %s", name, p.opts.Root))
		return s, nil
	}
	if len(st.Procs) == 0 {
		s.Problems = append(s.Problems, "cluster is stopped")
		return s, nil
	}
	s.Running = true
	for _, pr := range st.Procs {
		if pr.Alive() {
			s.Components[pr.Name] = fmt.Sprintf("running, pid %d", pr.PID)
		} else {
			s.Running = false
			s.Components[pr.Name] = "dead"
			s.Problems = append(s.Problems, fmt.Sprintf("%s (pid %d) is not running; see %s", pr.Name, pr.PID, pr.Log))
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	n, err := readyNodes(ctx, cs)
	if err != nil {
		s.Running = false
		s.Problems = append(s.Problems, fmt.Sprintf("API server at %s: %v", st.Server, err))
	}
	s.NodesReady = n
	return s, nil
}

// bindNodeAgent grants the node agent's user the upstream system:node role.
func bindNodeAgent(ctx context.Context, cs kubernetes.Interface) error {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kdbench:node-agent"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: nodeAgentUser}},
	}
	_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("granting the node agent the system:node role: %w", err)
	}
	return grantDirectMode(ctx, cs)
}

func tlsConfig(cfg *rest.Config) (*tls.Config, error) {
	return rest.TLSConfigFor(cfg)
}

// wipe empties the work dir for a fresh start, but keeps the logs of the
// cluster that ran before under this name as logs.prev: when a start is
// retried, the failed attempt's logs (which its error names) survive.
func wipe(l layout) error {
	entries, err := os.ReadDir(l.Root())
	if err != nil {
		return err
	}
	prev := l.PrevLogs()
	if _, err := os.Stat(l.Logs()); err == nil {
		if err := os.RemoveAll(prev); err != nil {
			return err
		}
		if err := os.Rename(l.Logs(), prev); err != nil {
			return err
		}
	}
	for _, e := range entries {
		switch e.Name() {
		case filepath.Base(l.Lock()), filepath.Base(l.Logs()), filepath.Base(prev):
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.Root(), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// etcdVersion reports the embedded etcd's version.
func etcdVersion() string { return "v" + strings.TrimPrefix(etcdServerVersion, "v") }
