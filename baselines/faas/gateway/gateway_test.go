package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fake is an instance that sleeps for the requested runtime and tracks how
// many calls it runs at once.
type fake struct {
	id  string
	err error

	mu             sync.Mutex
	inflight, peak int
	calls          int
	closed         bool
}

func (f *fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fake) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func (f *fake) ID() string { return f.id }

func (f *fake) Invoke(ctx context.Context, c Call) (Reply, error) {
	f.mu.Lock()
	f.inflight++
	f.calls++
	f.peak = max(f.peak, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if f.err != nil {
		return Reply{}, f.err
	}
	start := time.Now()
	select {
	case <-time.After(c.Runtime):
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
	return Reply{Duration: time.Since(start), MemoryMiB: int64(c.MemoryMiB)}, nil
}

// load records the concurrency the gateway reports.
type load struct {
	mu        sync.Mutex
	cur, peak int
	arrived   chan struct{}
}

func newLoad() *load { return &load{arrived: make(chan struct{}, 10000)} }

func (l *load) Add(_ string, d int) {
	l.mu.Lock()
	l.cur += d
	l.peak = max(l.peak, l.cur)
	l.mu.Unlock()
	if d > 0 {
		l.arrived <- struct{}{}
	}
}

func (l *load) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

func newGateway(t *testing.T, cfg Config, l Load) *Gateway {
	t.Helper()
	g, err := New(cfg, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Register("f")
	return g
}

func inv(i int, runtime time.Duration) Invocation {
	return Invocation{Function: "f", Instance: "f-abc", InvocationID: fmt.Sprintf("min0.inv%d", i), Phase: 2, Runtime: runtime, MemoryMiB: 64}
}

func TestColdStartQueuesUntilAnInstanceIsReady(t *testing.T) {
	l := newLoad()
	g := newGateway(t, Knative(), l)
	done := make(chan Result, 1)
	go func() { done <- g.Invoke(context.Background(), inv(0, 10*time.Millisecond)) }()
	<-l.arrived
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("invocation finished without an instance: %+v", r)
	default:
	}
	if got := l.current(); got != 1 {
		t.Fatalf("concurrency while queued = %d, want 1", got)
	}
	g.SetInstances("f", []Instance{&fake{id: "p1"}})
	r := <-done
	if r.Reason != "" || r.Record.Failed() {
		t.Fatalf("cold start failed: %s: %v", r.Reason, r.Err)
	}
	rec := r.Record
	switch {
	case !r.ColdStart || r.Instance != "p1":
		t.Errorf("cold start %v on %q, want true on p1", r.ColdStart, r.Instance)
	case rec.TimeToSubmitUs < 50_000:
		t.Errorf("time to submit %dµs, want ≥ the 50ms queued", rec.TimeToSubmitUs)
	case rec.ActualDurationUs < 10_000 || rec.ResponseTimeUs < rec.TimeToSubmitUs+rec.ActualDurationUs:
		t.Errorf("response %dµs, actual %dµs, submit %dµs: inconsistent", rec.ResponseTimeUs, rec.ActualDurationUs, rec.TimeToSubmitUs)
	case rec.RequestedDurationUs != 10_000 || rec.ActualMemoryUsageMiB != 64 || rec.InvocationID != "min0.inv0" || rec.Instance != "f-abc" || rec.Phase != 2:
		t.Errorf("record fields not carried over: %+v", rec)
	}
	if got := l.current(); got != 0 {
		t.Errorf("concurrency after completion = %d, want 0", got)
	}
}

func TestNoLostInvocationsAndLimitRespected(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprintf("containerConcurrency=%d", limit), func(t *testing.T) {
			l := newLoad()
			g := newGateway(t, Config{ContainerConcurrency: limit, DispatchTimeout: time.Minute}, l)
			a, b, c := &fake{id: "a"}, &fake{id: "b"}, &fake{id: "c"}
			g.SetInstances("f", []Instance{a, b})
			const n = 300
			results := make(chan Result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() { defer wg.Done(); results <- g.Invoke(context.Background(), inv(i, time.Millisecond)) }()
				switch i {
				case n / 3: // scale out while loaded
					g.SetInstances("f", []Instance{a, b, c})
				case 2 * n / 3: // a goes away mid-flight
					g.SetInstances("f", []Instance{b, c})
				}
			}
			wg.Wait()
			close(results)
			seen := map[string]bool{}
			for r := range results {
				if r.Reason != "" {
					t.Errorf("%s failed: %s %v", r.Record.InvocationID, r.Reason, r.Err)
				}
				seen[r.Record.InvocationID] = true
			}
			calls := 0
			for _, f := range []*fake{a, b, c} {
				if f.peak > limit {
					t.Errorf("instance %s ran %d at once, limit %d", f.id, f.peak, limit)
				}
				calls += f.calls
			}
			if len(seen) != n || calls != n {
				t.Errorf("%d distinct results, %d calls, want %d each", len(seen), calls, n)
			}
			if l.current() != 0 {
				t.Errorf("concurrency after the run = %d, want 0", l.current())
			}
		})
	}
}

func TestRemovedInstanceTakesNoNewCalls(t *testing.T) {
	g := newGateway(t, Knative(), nil)
	a, b := &fake{id: "a"}, &fake{id: "b"}
	g.SetInstances("f", []Instance{a})
	first := make(chan Result, 1)
	go func() { first <- g.Invoke(context.Background(), inv(0, 100*time.Millisecond)) }()
	time.Sleep(20 * time.Millisecond) // a is busy
	second := make(chan Result, 1)
	go func() { second <- g.Invoke(context.Background(), inv(1, time.Millisecond)) }()
	time.Sleep(20 * time.Millisecond) // queued behind a
	g.SetInstances("f", nil)
	if g.Ready("f") != 0 {
		t.Fatalf("ready = %d after removing every instance", g.Ready("f"))
	}
	if r := <-first; r.Instance != "a" || r.Reason != "" {
		t.Fatalf("in-flight call on a removed instance: %q %s %v", r.Instance, r.Reason, r.Err)
	}
	time.Sleep(20 * time.Millisecond)
	g.SetInstances("f", []Instance{b})
	if r := <-second; r.Instance != "b" || r.Reason != "" {
		t.Fatalf("queued call ran on %q (%s), want b", r.Instance, r.Reason)
	}
	if a.calls != 1 {
		t.Fatalf("removed instance got %d calls, want 1", a.calls)
	}
}

func TestFailuresCarryAReason(t *testing.T) {
	boom := errors.New("sandbox crashed")
	cases := []struct {
		name      string
		function  string
		instances []Instance
		ctx       func() (context.Context, context.CancelFunc)
		reason    string
		minWait   time.Duration
	}{
		{name: "no instance within the dispatch timeout", function: "f", reason: ReasonDispatchTimeout, minWait: 50 * time.Millisecond},
		{name: "instance error", function: "f", instances: []Instance{&fake{id: "a", err: boom}}, reason: ReasonInstanceError},
		{name: "unknown function", function: "g", reason: ReasonUnknownFunction},
		{name: "run ends while queued", function: "f", reason: ReasonCanceled, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoad()
			g := newGateway(t, Config{ContainerConcurrency: 1, DispatchTimeout: 50 * time.Millisecond}, l)
			g.SetInstances("f", tc.instances)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
				g.cfg.DispatchTimeout = time.Minute
			}
			defer cancel()
			i := inv(0, time.Millisecond)
			i.Function = tc.function
			r := g.Invoke(ctx, i)
			if r.Reason != tc.reason || r.Err == nil {
				t.Fatalf("reason %q (%v), want %q", r.Reason, r.Err, tc.reason)
			}
			if !r.Record.Failed() || r.Record.ActualDurationUs != 0 {
				t.Errorf("failed invocation recorded as %+v", r.Record)
			}
			if r.Record.ResponseTimeUs < tc.minWait.Microseconds() {
				t.Errorf("response time %dµs, want ≥ %v", r.Record.ResponseTimeUs, tc.minWait)
			}
			if l.current() != 0 {
				t.Errorf("concurrency left at %d", l.current())
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{{ContainerConcurrency: 0, DispatchTimeout: time.Second}, {ContainerConcurrency: 1}} {
		if _, err := New(c, nil, nil); err == nil {
			t.Errorf("New accepted %+v", c)
		}
	}
}
