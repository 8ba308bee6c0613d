package knative

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines/faas/autoscaler"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/baselines/faas/sandbox"
	"github.com/kdbench/kdbench/collectors/timeline"
	"github.com/kdbench/kdbench/workloads/replay"
)

// Profile is a front-end's settings: its autoscaler and its gateway, and
// what it stands for (the result's replay.FrontEndFacts, less the inner
// system).
type Profile struct {
	Autoscaler autoscaler.Config
	Gateway    gateway.Config
	Facts      replay.FrontEndFacts
}

// KnativeProfile is the Kubedirect artifact's Knative (see the autoscaler
// and gateway packages' Knative()), as kdbench models it.
func KnativeProfile() Profile {
	return Profile{Autoscaler: autoscaler.Knative(), Gateway: gateway.Knative(), Facts: ModelFacts()}
}

// ServingModule is the Knative Serving module whose code kdbench runs (its
// KPA decider here), the paper's Knative Serving 1.15.
const ServingModule = "knative.dev/serving v0.42.2"

// ModelFacts are kn-model's components: only the KPA's decider is Knative's
// code; the rest is kdbench's stand-in or absent.
func ModelFacts() replay.FrontEndFacts {
	return replay.FrontEndFacts{
		Knative: "model",
		Real: []string{
			"autoscaler/kpa-decider: " + ServingModule + " pkg/autoscaler/scaling with pkg/autoscaler/aggregation windows, the artifact's config-autoscaler",
		},
		Modelled: []string{
			"activator: kdbench's gateway (baselines/faas/gateway), always in the path, containerConcurrency 1; learns Ready pods from a pod watch, not Endpoints and probes",
			"autoscaler/kpa-reconciler: scale to and from zero reimplemented in the harness (baselines/faas/autoscaler), fed the gateway's concurrency, not queue-proxy stats",
			"controller: not run; a Deployment per function stands for Service, Configuration, Revision, PodAutoscaler and ServerlessService",
			"queue-proxy: not run; kdbench's sandbox (baselines/faas/sandbox) executes invocations",
			"webhook: not run",
		},
	}
}

// FrontEnd is a running FaaS front-end for the functions of one namespace:
// the gateway every invocation passes, the KPA autoscaler it feeds, and the
// pod source that turns Ready pods into instances.
type FrontEnd struct {
	gw     *gateway.Gateway
	as     *autoscaler.Autoscaler
	pool   *sandbox.Pool
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	decisions []autoscaler.Decision
}

// Options says where a front-end runs and how it scales.
type Options struct {
	Client    kubernetes.Interface
	Namespace string
	// Functions are the Deployment names, labelled timeline.FunctionLabel.
	Functions []string
	// Scale applies the autoscaler's decisions (the inner system's Scale).
	Scale   autoscaler.Scaler
	Profile Profile
	// InProcessSandboxes serves each Ready pod's sandbox from this process,
	// started when the pod is first seen Ready, for node agents that run
	// none (--function-sandboxes off).
	InProcessSandboxes bool
	Logf               func(string, ...any)
}

// Start runs a front-end until Stop; it returns once the pod source has
// synced.
func Start(ctx context.Context, o Options) (*FrontEnd, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	f := &FrontEnd{done: make(chan struct{})}
	var err error
	// The gateway reports load to the autoscaler, which reads ready
	// instances from the gateway: build the autoscaler on a forward reference.
	var gw *gateway.Gateway
	f.as, err = autoscaler.New(o.Profile.Autoscaler, o.Namespace, o.Scale,
		func(fn string) int { return gw.Ready(fn) }, autoscaler.WithObserver(f.record(o.Logf)))
	if err != nil {
		return nil, err
	}
	if gw, err = gateway.New(o.Profile.Gateway, f.as, nil); err != nil {
		return nil, err
	}
	f.gw = gw
	for _, fn := range o.Functions {
		f.gw.Register(fn)
		f.as.Register(fn)
	}
	dial := remoteSandbox
	if o.InProcessSandboxes {
		f.pool = sandbox.NewPool()
		f.pool.AnyPort = true // this process alone dials them: see Pool.AnyPort
		dial = f.localSandbox
	}
	runCtx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	if _, err := gateway.WatchPods(runCtx, o.Client, o.Namespace, timeline.FunctionLabel, f.gw, dial, o.Logf); err != nil {
		cancel()
		f.closePool()
		return nil, err
	}
	go func() { defer close(f.done); f.as.Run(runCtx) }()
	return f, nil
}

func (f *FrontEnd) record(logf func(string, ...any)) func(autoscaler.Decision) {
	return func(d autoscaler.Decision) {
		switch {
		case d.Err != nil:
			logf("%v", d.Err)
		case d.Took > time.Second:
			logf("autoscaler: scaling %s to %d took %s", d.Function, d.Replicas, d.Took.Round(time.Millisecond))
		}
		f.mu.Lock()
		f.decisions = append(f.decisions, d)
		f.mu.Unlock()
	}
}

// Invoke sends one invocation through the gateway.
func (f *FrontEnd) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	return f.gw.Invoke(ctx, inv)
}

// Decisions returns the autoscaler's decisions so far, in order.
func (f *FrontEnd) Decisions() []autoscaler.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]autoscaler.Decision(nil), f.decisions...)
}

// Stop ends the autoscaler and the pod source and closes in-process sandboxes.
func (f *FrontEnd) Stop() {
	f.cancel()
	<-f.done
	f.closePool()
}

func (f *FrontEnd) closePool() {
	if f.pool != nil {
		f.pool.Close()
	}
}

func podIP(p *corev1.Pod) (netip.Addr, error) {
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("pod %s/%s: IP %q: %w", p.Namespace, p.Name, p.Status.PodIP, err)
	}
	return ip, nil
}

// remoteSandbox calls the sandbox the node agent serves for the pod.
func remoteSandbox(p *corev1.Pod) (gateway.Instance, error) {
	ip, err := podIP(p)
	if err != nil {
		return nil, err
	}
	return sandbox.NewInstance(p.Name, ip, nil, false)
}

// localSandbox starts the pod's sandbox here and calls it; the instance's
// Close stops it when the pod is gone.
func (f *FrontEnd) localSandbox(p *corev1.Pod) (gateway.Instance, error) {
	ip, err := podIP(p)
	if err != nil {
		return nil, err
	}
	if err := f.pool.Start(p, ip); err != nil {
		return nil, err
	}
	addr, ok := f.pool.Addr(p.Namespace, p.Name)
	if !ok {
		return nil, fmt.Errorf("sandbox of pod %s/%s stopped as it started", p.Namespace, p.Name)
	}
	in := sandbox.NewInstanceAt(p.Name, addr, nil, false)
	return &ownedSandbox{Instance: in, stop: func() { f.pool.Stop(p.Namespace, p.Name) }}, nil
}

type ownedSandbox struct {
	*sandbox.Instance
	stop func()
}

func (o *ownedSandbox) Close() error { o.stop(); return nil }
