package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/workloads/trace"
)

// Call is what an instance is asked to run.
type Call struct {
	Function  string
	ID        string // the invocation ID
	Runtime   time.Duration
	MemoryMiB int32
}

// Reply is what the instance measured.
type Reply struct {
	Duration  time.Duration // execution time inside the sandbox
	MemoryMiB int64         // memory the invocation recorded (or allocated)
}

// Instance is one ready instance (pod) of a function.
type Instance interface {
	// ID names the instance uniquely within its function (the pod's name).
	ID() string
	Invoke(ctx context.Context, c Call) (Reply, error)
}

// Load receives a function's concurrency changes (the autoscaler).
type Load interface {
	Add(function string, delta int)
}

// Config is the front-end's behaviour.
type Config struct {
	// ContainerConcurrency is the per-instance limit of in-flight
	// invocations (the artifact's Knative: 1; Dirigent: 1).
	ContainerConcurrency int
	// DispatchTimeout bounds the wait for a free instance; an invocation
	// still queued after it fails with ReasonDispatchTimeout.
	DispatchTimeout time.Duration
}

// Knative is the artifact's Knative front-end: containerConcurrency 1 and
// the activator holding a request at most for the revision timeout (300 s,
// revision-timeout-seconds' default).
func Knative() Config { return Config{ContainerConcurrency: 1, DispatchTimeout: 300 * time.Second} }

// Dirigent is Dirigent's data plane: one in-flight request per sandbox and a
// 30 s dispatch timeout.
func Dirigent() Config { return Config{ContainerConcurrency: 1, DispatchTimeout: 30 * time.Second} }

// Reasons an invocation failed; Result.Reason holds one of them.
const (
	ReasonDispatchTimeout = "dispatch-timeout" // no instance freed up in time
	ReasonInstanceError   = "instance-error"   // the instance failed the call
	ReasonCanceled        = "canceled"         // the caller gave up (run ended)
	ReasonUnknownFunction = "unknown-function" // never registered
	ReasonClientTimeout   = "client-timeout"   // the client's own deadline passed (the loader's function timeout)
)

// Invocation is one call issued by the replay.
type Invocation struct {
	Function     string // the registered function (Deployment) name
	Instance     string // the loader's instance column (the function's name)
	InvocationID string // min<m>.inv<k>
	Phase        int    // 1 warm-up, 2 measured
	Runtime      time.Duration
	MemoryMiB    int32
}

// Result is one invocation's outcome: its loader record, and why it failed.
type Result struct {
	Record trace.Record
	// Reason is empty for a completed invocation, else one of the Reason*
	// constants; Err has the detail.
	Reason string
	Err    error
	// ColdStart says no instance of the function was ready at arrival.
	ColdStart bool
	// Instance is the instance that ran it ("" if none did).
	Instance string
}

// Gateway routes invocations of registered functions to their instances.
type Gateway struct {
	cfg   Config
	load  Load
	clock clock.Clock

	mu    sync.Mutex
	funcs map[string]*function
}

// New returns a gateway reporting concurrency to load (may be nil).
func New(cfg Config, load Load, clk clock.Clock) (*Gateway, error) {
	if cfg.ContainerConcurrency < 1 {
		return nil, fmt.Errorf("gateway: container concurrency %d must be ≥ 1", cfg.ContainerConcurrency)
	}
	if cfg.DispatchTimeout <= 0 {
		return nil, fmt.Errorf("gateway: dispatch timeout %v must be > 0", cfg.DispatchTimeout)
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Gateway{cfg: cfg, load: load, clock: clk, funcs: map[string]*function{}}, nil
}

// Register makes a function invocable (with no instances yet).
func (g *Gateway) Register(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.funcs[name]; !ok {
		g.funcs[name] = newFunction(g.cfg.ContainerConcurrency)
	}
}

// SetInstances replaces a function's ready instances. New instances take
// queued invocations at once; removed ones finish what they run and get
// nothing new.
func (g *Gateway) SetInstances(name string, instances []Instance) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.funcs[name]; ok {
		f.set(instances)
	}
}

// Ready returns the number of ready instances of a function (the
// autoscaler's ReadyCounter).
func (g *Gateway) Ready(name string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.funcs[name]; ok {
		return len(f.slots)
	}
	return 0
}

// Invoke runs one invocation to completion or failure. It never drops one:
// every call returns a Result, completed or failed with a Reason.
func (g *Gateway) Invoke(ctx context.Context, inv Invocation) Result {
	start := g.clock.Now()
	res := Result{Record: trace.Record{
		Phase:               inv.Phase,
		Instance:            inv.Instance,
		InvocationID:        inv.InvocationID,
		StartTime:           start.UnixMicro(),
		RequestedDurationUs: inv.Runtime.Microseconds(),
	}}
	g.mu.Lock()
	f, ok := g.funcs[inv.Function]
	if !ok {
		g.mu.Unlock()
		return g.fail(res, start, ReasonUnknownFunction, fmt.Errorf("gateway: function %q is not registered", inv.Function))
	}
	res.ColdStart = len(f.slots) == 0
	g.mu.Unlock()

	if g.load != nil {
		g.load.Add(inv.Function, 1)
		defer g.load.Add(inv.Function, -1)
	}
	s, err := g.acquire(ctx, f)
	if err != nil {
		reason := ReasonCanceled
		if errors.Is(err, errDispatchTimeout) {
			reason = ReasonDispatchTimeout
		}
		return g.fail(res, start, reason, fmt.Errorf("gateway: %s %s: %w", inv.Function, inv.InvocationID, err))
	}
	dispatched := g.clock.Now()
	res.Instance = s.inst.ID()
	reply, err := s.inst.Invoke(ctx, Call{Function: inv.Function, ID: inv.InvocationID, Runtime: inv.Runtime, MemoryMiB: inv.MemoryMiB})
	g.release(f, s)
	if err != nil {
		reason := ReasonInstanceError
		if ctx.Err() != nil {
			reason = ReasonCanceled
		}
		return g.fail(res, start, reason, fmt.Errorf("gateway: %s %s on %s: %w", inv.Function, inv.InvocationID, s.inst.ID(), err))
	}
	end := g.clock.Now()
	r := &res.Record
	r.ResponseTimeUs = end.Sub(start).Microseconds()
	r.ActualDurationUs = reply.Duration.Microseconds()
	r.ActualMemoryUsageMiB = reply.MemoryMiB
	r.TimeToSubmitUs = dispatched.Sub(start).Microseconds()
	r.UserCodeExecutionUs = r.ActualDurationUs
	r.TimeToGetResponseUs = end.Sub(dispatched).Microseconds()
	return res
}

// fail records a failed invocation the way the loader does: the time until
// failure as responseTime and a function timeout (the call returned an error).
func (g *Gateway) fail(res Result, start time.Time, reason string, err error) Result {
	res.Reason, res.Err = reason, err
	res.Record.ResponseTimeUs = g.clock.Since(start).Microseconds()
	res.Record.FunctionTimeout = true
	return res
}
