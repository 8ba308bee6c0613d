package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// deleteTimeout bounds DeleteNodesOnExit.
const deleteTimeout = 30 * time.Second

// Agent simulates the kubelets of Config.Nodes nodes from one process.
type Agent struct {
	cfg      *Config
	client   kubernetes.Interface
	clock    Clock
	m        *metrics
	logger   logr.Logger
	nodeList []*simNode
	nodes    map[string]*simNode
	life     *lifecycle
	beats    workqueue.TypedRateLimitingInterface[beatKey]
	// beatTimers holds each node's pending lease and status heartbeat timers.
	beatTimers [][2]clock.Timer
	sources    []PodSource

	registerer prometheus.Registerer
	observer   Observer
	sandboxes  Sandboxes
	gate       *Gate

	registerBackoff wait.Backoff

	started atomic.Bool
	ready   chan struct{}
	done    chan struct{}
	runErr  error
}

// Clock is what the agent needs of time: clock.WithTicker for its work queues and
// AfterFunc for its delays. clock.RealClock and the testing FakeClock satisfy it.
type Clock interface {
	clock.WithTicker
	AfterFunc(d time.Duration, f func()) clock.Timer
}

// Option customises an Agent.
type Option func(*Agent)

// WithRegisterer registers the agent's metrics with r (by default they go to a private
// registry nobody scrapes).
func WithRegisterer(r prometheus.Registerer) Option {
	return func(a *Agent) { a.registerer = r }
}

// WithClock replaces the wall clock, for tests that script time.
func WithClock(c Clock) Option {
	return func(a *Agent) { a.clock = c }
}

// WithObserver reports every pod the agent starts to o.
func WithObserver(o Observer) Option {
	return func(a *Agent) { a.observer = o }
}

// WithSandboxes runs a function sandbox for every pod the agent starts (the
// FaaS experiments); without it pods are only status, as the bursts need.
func WithSandboxes(s Sandboxes) Option {
	return func(a *Agent) { a.sandboxes = s }
}

// WithGate bounds the status writes in flight together with the pod source's
// creates (direct mode), which share g.
func WithGate(g *Gate) Option {
	return func(a *Agent) { a.gate = g }
}

// WithPodSource adds a source of bound pods next to the agent's pod informer
// (Kubedirect's direct mode).
func WithPodSource(s PodSource) Option {
	return func(a *Agent) { a.sources = append(a.sources, s) }
}

// New checks cfg (zero fields take defaults) and prepares an agent that talks to the
// API server through client. Nothing is written before Run.
func New(client kubernetes.Interface, cfg Config, opts ...Option) (*Agent, error) {
	if client == nil {
		return nil, errors.New("nodeagent: nil client")
	}
	cfg.complete()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.resolve()
	cidrs, err := newPodCIDRs(cfg.PodCIDR, cfg.NodeCIDRMaskSize, cfg.Nodes, cfg.MaxPods)
	if err != nil {
		return nil, err // validate already checked; kept for safety
	}
	hostIPs, err := newNodeIPs(cfg.NodeIPRange, cfg.Nodes)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:             &cfg,
		client:          client,
		clock:           clock.RealClock{},
		m:               newMetrics(),
		logger:          logr.Discard(),
		nodes:           make(map[string]*simNode, cfg.Nodes),
		registerBackoff: defaultRegisterBackoff,
		ready:           make(chan struct{}),
		done:            make(chan struct{}),
	}
	for i := range cfg.Nodes {
		sub := cidrs.subnet(i)
		n := &simNode{index: i, name: nodeName(cfg.NamePrefix, i), hostIP: hostIPs.ip(i), podCIDR: sub, ips: newIPAllocator(sub)}
		a.nodeList = append(a.nodeList, n)
		a.nodes[n.name] = n
	}
	for _, o := range opts {
		o(a)
	}
	a.life = newLifecycle(a.cfg, client, a.clock, a.m, a.nodes, a.observer)
	a.life.sandboxes = a.sandboxes
	a.life.gate = a.gate
	a.beats = newHeartbeatQueue(a)
	a.beatTimers = make([][2]clock.Timer, len(a.nodeList))
	inf := newInformerSource(client)
	for _, s := range a.sources {
		if c, ok := s.(Claimer); ok {
			inf.claimed = append(inf.claimed, c)
		}
	}
	a.sources = append([]PodSource{inf}, a.sources...)

	reg := a.registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := a.m.register(reg); err != nil {
		return nil, err
	}
	queueLen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "pod_queue_length",
		Help: "Pods waiting for a worker (not counting those waiting out a delay).",
	}, func() float64 { return float64(a.life.queue.Len()) })
	if err := reg.Register(queueLen); err != nil {
		return nil, fmt.Errorf("nodeagent: registering metrics: %w", err)
	}
	a.m.sandboxDelay.Set(cfg.SandboxDelay.Seconds())
	return a, nil
}

// Config returns the configuration the agent runs with, defaults and derived values
// filled in (for manifests).
func (a *Agent) Config() Config { return *a.cfg }

// NodeNames returns the names of the agent's nodes, in index order.
func (a *Agent) NodeNames() []string {
	names := make([]string, len(a.nodeList))
	for i, n := range a.nodeList {
		names[i] = n.name
	}
	return names
}

// Ready is closed once every node and Lease is registered, the pod sources have synced
// and the pod workers run.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// WaitForNodes blocks until Ready, Run failing, or ctx being done.
func (a *Agent) WaitForNodes(ctx context.Context) error {
	select {
	case <-a.ready:
		return nil
	case <-a.done:
		select {
		case <-a.ready:
			return nil
		default:
		}
		if a.runErr != nil {
			return a.runErr
		}
		return errors.New("nodeagent: stopped before its nodes were ready")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run registers the nodes, serves them until ctx is done, then stops every goroutine it
// started (and deletes the nodes if Config.DeleteNodesOnExit). It returns nil after a
// shutdown through ctx, an error if the agent could not start. Run may be called once.
func (a *Agent) Run(ctx context.Context) (err error) {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("nodeagent: Run called twice")
	}
	defer func() {
		a.runErr = err
		close(a.done)
	}()
	a.logger = klog.FromContext(ctx).WithName("nodeagent")
	a.life.logger = a.logger

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		// Stop everything, whatever path got here: queues first so workers drain,
		// then the context for in-flight requests and informers.
		a.life.queue.ShutDown()
		a.beats.ShutDown()
		cancel()
		wg.Wait()
		a.stopBeatTimers()
		a.life.stopTimers()
		if a.cfg.DeleteNodesOnExit {
			if derr := a.deleteAll(deleteTimeout); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()

	start := a.clock.Now()
	if err := a.registerAll(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.m.registration.Set(a.clock.Since(start).Seconds())
	a.m.nodes.Set(float64(len(a.nodeList)))
	a.logger.Info("Registered nodes", "nodes", len(a.nodeList), "duration", a.clock.Since(start))

	// Heartbeats start at once: registration may have taken a while at 2000 nodes.
	a.scheduleHeartbeats()
	a.runHeartbeats(ctx, &wg)

	srcErr := make(chan error, len(a.sources)+1)
	synced := make([]func() bool, 0, len(a.sources)+1)
	for _, s := range a.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx, a.life); err != nil {
				srcErr <- err
			}
		}()
		synced = append(synced, s.HasSynced)
	}
	nw := newNodeWatch(a.client, TypeLabel+"="+TypeLabelValue)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := nw.Run(ctx, a.nodeDeleted); err != nil {
			srcErr <- err
		}
	}()
	synced = append(synced, nw.informer.HasSynced)
	// cache.WaitForCacheSync polls every 100ms; start-up time is measured, so poll faster.
	err = wait.PollUntilContextCancel(ctx, 5*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, s := range synced {
			if !s() {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil // ctx done
	}
	a.life.run(ctx, a.cfg.Workers, &wg)
	if inf, ok := a.sources[0].(*informerSource); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.housekeeping(ctx, inf.informer.GetStore())
		}()
	}
	close(a.ready)

	select {
	case <-ctx.Done():
		a.logger.Info("Stopping")
		return nil
	case err := <-srcErr:
		return err
	}
}

// nodeDeleted stops serving a node someone else deleted: no more renewals, its pods
// are ignored and their IPs returned.
func (a *Agent) nodeDeleted(name string) {
	n := a.nodes[name]
	if n == nil || n.gone.Swap(true) {
		return
	}
	a.logger.Info("Node deleted; no longer serving it", "node", name)
	a.m.nodes.Dec()
	a.life.nodeGone(n)
}
