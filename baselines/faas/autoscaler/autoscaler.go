package autoscaler

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"
	"knative.dev/serving/pkg/autoscaler/scaling"
)

// Scaler applies a function's scale; in kdbench it is a System's Scale.
type Scaler func(ctx context.Context, namespace, function string, replicas int32) error

// ReadyCounter reports a function's ready instances (the gateway's view).
type ReadyCounter func(function string) int

// Decision is one applied scale, reported to the optional observer.
type Decision struct {
	Time     time.Time
	Function string
	Replicas int32
	// Took is how long the Scaler call took.
	Took time.Duration
	Err  error
}

// Autoscaler runs one KPA decider per registered function of a namespace.
type Autoscaler struct {
	cfg       Config
	namespace string
	scale     Scaler
	ready     ReadyCounter
	clock     clock.WithTicker
	logger    *zap.SugaredLogger
	observe   func(Decision)

	mu    sync.Mutex
	funcs map[string]*function
	poked chan string
}

// function is one function's scaling state; guarded by Autoscaler.mu except
// for decider, which only the goroutine running decisions touches.
type function struct {
	name    string
	load    meter
	seen    bool // any load ever reported: Knative has no stats before
	windows *windows
	decider scaling.UniScaler
	life    lifecycle
	current int32 // last applied scale
	pending bool  // a poke is queued
	scaling bool  // an apply is outstanding
	// reported is concurrency already recorded by a poke; the next sample
	// subtracts it, as the activator does after its first-request stat.
	reported float64
}

// Option customises an Autoscaler.
type Option func(*Autoscaler)

// WithClock injects time (tests use a fake clock).
func WithClock(c clock.WithTicker) Option { return func(a *Autoscaler) { a.clock = c } }

// WithObserver receives every applied decision (for logs and metrics).
func WithObserver(f func(Decision)) Option { return func(a *Autoscaler) { a.observe = f } }

// New returns an autoscaler for functions in namespace, applying decisions
// with scale and reading ready instances from ready.
func New(cfg Config, namespace string, scale Scaler, ready ReadyCounter, opts ...Option) (*Autoscaler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Autoscaler{
		cfg: cfg, namespace: namespace, scale: scale, ready: ready,
		clock:  clock.RealClock{},
		logger: zap.NewNop().Sugar(),
		funcs:  map[string]*function{},
		poked:  make(chan string, 1024),
	}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Register starts scaling a function whose Deployment exists at scale zero.
func (a *Autoscaler) Register(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.funcs[name]; ok {
		return
	}
	f := &function{name: name, windows: newWindows(a.cfg)}
	f.decider = scaling.New(context.Background(), a.namespace, name, f.windows, podCounter{name, a.ready}, a.cfg.deciderSpec())
	f.life.registered = a.clock.Now()
	a.funcs[name] = f
}

// Add reports a change of a function's concurrency (in-flight + queued) by
// delta. An invocation arriving while the function is at zero pokes the
// autoscaler, as the activator's first stat for a scaled-to-zero revision does.
func (a *Autoscaler) Add(name string, delta int) {
	now := a.clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.funcs[name]
	if !ok {
		return
	}
	f.load.add(now, delta)
	f.seen = true
	if delta > 0 && f.current == 0 && !f.pending {
		f.pending = true
		select {
		case a.poked <- name:
		default: // a full queue still gets every function decided at the next tick
			f.pending = false
		}
	}
}

// Desired returns the scale last applied to a function.
func (a *Autoscaler) Desired(name string) int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.funcs[name]; ok {
		return f.current
	}
	return 0
}

// Run samples load every Granularity and decides every Tick, and at once for
// poked functions, until ctx ends. Decisions are made one after another and
// applied concurrently, so a slow Scale of one function (an API round trip)
// does not delay the others, as Knative's per-revision scalers do not.
func (a *Autoscaler) Run(ctx context.Context) {
	sample := a.clock.NewTicker(a.cfg.Granularity)
	defer sample.Stop()
	tick := a.clock.NewTicker(a.cfg.Tick)
	defer tick.Stop()
	var applies sync.WaitGroup
	defer applies.Wait()
	apply := func(f func()) {
		if f != nil {
			applies.Add(1)
			go func() { defer applies.Done(); f() }()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-sample.C():
			a.sample(now)
		case now := <-tick.C():
			for _, name := range a.names() {
				apply(a.decide(ctx, name, now, false))
			}
		case name := <-a.poked:
			apply(a.decide(ctx, name, a.clock.Now(), true))
		}
	}
}

func (a *Autoscaler) names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.funcs))
	for n := range a.funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// sample moves every function's average concurrency into its windows.
func (a *Autoscaler) sample(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.funcs {
		if f.seen {
			f.windows.record(now, max(0, f.load.sample(now)-f.reported))
			f.reported = 0
		}
	}
}

// decide runs one function's decider and, if the KPA lifecycle lets the
// result through, returns the call that applies it (nil: nothing to do). A
// poke first records the current concurrency, as the activator's immediate
// stat does. Only one goroutine may decide; applies may run concurrently
// (one at a time per function: while one is outstanding, the function's
// next decision waits for the following tick).
func (a *Autoscaler) decide(ctx context.Context, name string, now time.Time, poke bool) func() {
	a.mu.Lock()
	f, ok := a.funcs[name]
	if !ok {
		a.mu.Unlock()
		return nil
	}
	if poke {
		f.pending = false
		if f.current > 0 || f.load.current == 0 {
			a.mu.Unlock()
			return nil
		}
		f.reported = float64(f.load.current)
		f.windows.record(now, f.reported)
	}
	current := f.current
	a.mu.Unlock()

	ready := int32(a.ready(name))
	res := f.decider.Scale(a.logger, now)
	desired := res.DesiredPodCount
	if !res.ScaleValid {
		desired = current
	}
	if poke && a.cfg.Dirigent && desired < 1 {
		desired = 1 // Dirigent: a request at zero scales to one immediately
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	want, apply := f.life.gate(a.cfg, now, desired, ready, current)
	if !apply || want == current || f.scaling {
		return nil
	}
	f.current, f.scaling = want, true
	return func() {
		start := a.clock.Now()
		err := a.scale(ctx, a.namespace, name, want)
		took := a.clock.Since(start)
		a.mu.Lock()
		f.scaling = false
		if err != nil {
			err = fmt.Errorf("autoscaler: scale %s/%s to %d: %w", a.namespace, name, want, err)
			f.current = current // retried at the next tick
		}
		a.mu.Unlock()
		if a.observe != nil {
			a.observe(Decision{Time: now, Function: name, Replicas: want, Took: took, Err: err})
		}
	}
}

// podCounter gives Knative's decider the function's ready instances.
type podCounter struct {
	name  string
	ready ReadyCounter
}

func (p podCounter) ReadyCount() (int, error)    { return p.ready(p.name), nil }
func (p podCounter) NotReadyCount() (int, error) { return 0, nil }
