package replay

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/trace"
)

// invoker completes invocations at once, failing every failEvery-th with a
// dispatch timeout, and cancels the run after cancelAfter calls.
type invoker struct {
	calls       atomic.Int64
	failEvery   int64
	cancelAfter int64
	cancel      context.CancelFunc
	at          sync.Map // invocation → offset issued
	clock       *clocktesting.FakeClock
	start       time.Time
}

func (f *invoker) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	n := f.calls.Add(1)
	f.at.Store(inv.Instance+"/"+inv.InvocationID, f.clock.Since(f.start))
	if f.cancelAfter > 0 && n == f.cancelAfter {
		f.cancel()
	}
	r := gateway.Result{Record: trace.Record{Instance: inv.Instance, InvocationID: inv.InvocationID, Phase: inv.Phase,
		RequestedDurationUs: inv.Runtime.Microseconds(), ResponseTimeUs: inv.Runtime.Microseconds(), ActualDurationUs: inv.Runtime.Microseconds()}}
	if f.failEvery > 0 && n%f.failEvery == 0 {
		r.Reason = gateway.ReasonDispatchTimeout
	}
	if ctx.Err() != nil {
		r.Reason = gateway.ReasonCanceled
	}
	if r.Reason != "" { // as the gateway records failures
		r.Record.FunctionTimeout, r.Record.ActualDurationUs = true, 0
	}
	return r
}

func schedule(t *testing.T, functions, minutes int) *trace.Schedule {
	t.Helper()
	tr, err := trace.Synth(trace.SynthOptions{Functions: functions, Minutes: minutes, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	opts := trace.DefaultOptions()
	opts.Minutes = minutes
	s, err := trace.Generate(tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// advance steps the fake clock whenever the replay waits, so schedules run
// in virtual time.
func advance(ctx context.Context, c *clocktesting.FakeClock) {
	for ctx.Err() == nil {
		if c.HasWaiters() {
			c.Step(time.Millisecond)
		} else {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

func TestEveryInvocationAccounted(t *testing.T) {
	s := schedule(t, 20, 3)
	cases := []struct {
		name        string
		failEvery   int64
		cancelAfter int64
	}{
		{"all complete", 0, 0},
		{"some fail", 7, 0},
		{"run canceled midway", 0, int64(s.Len() / 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
			inv := &invoker{failEvery: tc.failEvery, cancelAfter: tc.cancelAfter, cancel: cancel, clock: clk, start: clk.Now()}
			stepCtx, stopStep := context.WithCancel(context.Background())
			defer stopStep()
			go advance(stepCtx, clk)

			var recs []trace.Record
			acc, err := Run(ctx, inv, Config{Schedule: s, WarmupMinutes: 1, Clock: clk,
				Record: func(r gateway.Result) error { recs = append(recs, r.Record); return nil }})
			if (tc.cancelAfter > 0) != (err != nil) {
				t.Fatalf("Run error %v", err)
			}
			// A canceled run stops issuing soon after the cancel, not at once.
			lo, hi := s.Len(), s.Len()
			if tc.cancelAfter > 0 {
				lo, hi = int(tc.cancelAfter), s.Len()-1
			}
			if acc.Issued < lo || acc.Issued > hi || acc.Completed+acc.FailedTotal() != acc.Issued || len(recs) != acc.Issued {
				t.Fatalf("%s; %d records; want [%d, %d] issued, all accounted and recorded", acc, len(recs), lo, hi)
			}
			if tc.failEvery > 0 && acc.Failed[gateway.ReasonDispatchTimeout] != acc.Issued/int(tc.failEvery) {
				t.Errorf("dispatch timeouts %d, want %d", acc.Failed[gateway.ReasonDispatchTimeout], acc.Issued/int(tc.failEvery))
			}
			seen := map[string]bool{}
			for _, r := range recs {
				key := r.Instance + "/" + r.InvocationID
				if seen[key] {
					t.Fatalf("invocation %s recorded twice", key)
				}
				seen[key] = true
				if wantPhase := map[bool]int{true: 1, false: 2}[strings.HasPrefix(r.InvocationID, "min0.")]; r.Phase != wantPhase {
					t.Errorf("%s phase %d, want %d", key, r.Phase, wantPhase)
				}
			}
		})
	}
}

func TestInvocationsIssuedOnSchedule(t *testing.T) {
	s := schedule(t, 5, 2)
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	inv := &invoker{clock: clk, start: clk.Now()}
	stepCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go advance(stepCtx, clk)
	fns := Functions(s)
	if _, err := Run(context.Background(), inv, Config{Schedule: s, Functions: fns, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	for a := range s.Timeline() {
		key := fns[a.Function].Instance + "/" + trace.InvocationID(s.Options.Granularity, a.Minute, a.MinuteIndex)
		v, ok := inv.at.Load(key)
		if !ok {
			t.Fatalf("%s never issued", key)
		}
		// Never early (lateness depends on goroutine scheduling against the
		// stepping clock, so it is not asserted).
		if at := v.(time.Duration); at < a.At {
			t.Errorf("%s issued at %v, scheduled at %v", key, at, a.At)
		}
	}
}

func TestFunctionsNaming(t *testing.T) {
	s := schedule(t, 12, 1)
	fns := Functions(s)
	if fns[3].Deployment != "fn03" || !strings.HasPrefix(fns[3].Instance, "fn03-") || metrics.FunctionOf(fns[3].Instance, metrics.Slowdown) != "fn03" ||
		metrics.FunctionOf(fns[3].Instance, metrics.SchedulingLatency) != "fn03" {
		t.Fatalf("function 3 named %+v", fns[3])
	}
}
