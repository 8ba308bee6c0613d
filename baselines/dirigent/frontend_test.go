package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/trace"
)

// TestFrontEnd replays invocations through System's replay front-end: the
// first calls of each function queue for the scale from zero, every call is
// accounted for with the replay's instance and phase, and Stop deregisters
// the functions so that a later front-end can register them again.
func TestFrontEnd(t *testing.T) {
	sys := &System{}
	env := baselines.Env{Cluster: &clusters.Cluster{Nodes: 2, SandboxDelay: 5 * time.Millisecond}, Logf: t.Logf}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sys.StartFrontEnd(ctx, env, "ns", []string{"fa"}); err == nil {
		t.Error("front-end started before Prepare")
	}
	if err := sys.Prepare(ctx, env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Teardown(context.Background(), env) })
	fns := []string{"fa", "fb", "fc"}
	fe, err := sys.StartFrontEnd(ctx, env, "ns", fns)
	if err != nil {
		t.Fatal(err)
	}
	const perFunction = 5
	results := make(chan gateway.Result, perFunction*len(fns))
	var wg sync.WaitGroup
	for _, fn := range fns {
		for i := range perFunction {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- fe.Invoke(ctx, gateway.Invocation{Function: fn, Instance: fn + "-1234", InvocationID: fmt.Sprintf("min0.inv%d", i),
					Phase: 1, Runtime: 20 * time.Millisecond, MemoryMiB: 64})
			}()
		}
	}
	wg.Wait()
	close(results)
	cold := 0
	for r := range results {
		rec := r.Record
		if r.Reason != "" {
			t.Errorf("%s %s failed: %s: %v", rec.Instance, rec.InvocationID, r.Reason, r.Err)
			continue
		}
		if r.ColdStart {
			cold++
		}
		if rec.Phase != 1 || len(rec.Instance) != len("fa-1234") || rec.ActualDurationUs < 20_000 || rec.ActualMemoryUsageMiB != 64 ||
			rec.ResponseTimeUs < rec.ActualDurationUs || r.Instance == "" {
			t.Errorf("result %+v: phase, instance, duration, memory or response time wrong", r)
		}
	}
	if cold < len(fns) {
		t.Errorf("%d cold starts, want at least one per function (%d): all started at zero", cold, len(fns))
	}
	if r := fe.Invoke(ctx, gateway.Invocation{Function: "nope", InvocationID: "x"}); r.Reason != gateway.ReasonUnknownFunction {
		t.Errorf("unregistered function: reason %q (%v), want %q", r.Reason, r.Err, gateway.ReasonUnknownFunction)
	}

	fe.Stop()
	fe.Stop() // idempotent
	if _, ok := sys.Deployment().ControlPlane.Function("fa"); ok {
		t.Error("fa is still registered after Stop")
	}
	fe2, err := sys.StartFrontEnd(ctx, env, "ns", fns[:1])
	if err != nil {
		t.Fatalf("registering again after Stop: %v", err)
	}
	defer fe2.Stop()
	if r := fe2.Invoke(ctx, gateway.Invocation{Function: "fa", InvocationID: "again", Runtime: time.Millisecond}); r.Reason != "" {
		t.Errorf("after re-registration: %s: %v", r.Reason, r.Err)
	}
}

func TestReason(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"dispatch timeout", live, &StatusError{Status: http.StatusGatewayTimeout}, gateway.ReasonDispatchTimeout},
		{"deregistered", live, fmt.Errorf("call: %w", &StatusError{Status: http.StatusNotFound}), gateway.ReasonUnknownFunction},
		{"sandbox failed", live, &StatusError{Status: http.StatusBadGateway}, gateway.ReasonInstanceError},
		{"unreachable", live, errors.New("connection refused"), gateway.ReasonInstanceError},
		{"caller gave up", done, &StatusError{Status: http.StatusGatewayTimeout}, gateway.ReasonCanceled},
	} {
		if got := reason(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestFrontEndReplay replays a short schedule through the front-end with
// the trace replay, once to the end and once cut short: every issued
// invocation is accounted for, completed or failed with a reason, and the
// full run completes them all.
func TestFrontEndReplay(t *testing.T) {
	tr, err := trace.Synth(trace.SynthOptions{Functions: 4, Minutes: 3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tr.Functions {
		for i := range f.Invocations {
			f.Invocations[i] = 3 // per second here: 36 invocations, 12 a second
		}
	}
	sched, err := trace.Generate(tr, trace.Options{Minutes: 3, Granularity: trace.Second, IAT: trace.Exponential, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, fs := range sched.Functions {
		for i := range fs.Invocations {
			fs.Invocations[i].RuntimeMs = min(fs.Invocations[i].RuntimeMs, 50)
		}
	}
	if sched.Len() == 0 {
		t.Fatal("empty schedule")
	}
	sys := &System{}
	env := baselines.Env{Cluster: &clusters.Cluster{Nodes: 2, SandboxDelay: 5 * time.Millisecond}, Logf: t.Logf}
	if err := sys.Prepare(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Teardown(context.Background(), env) })
	fns := replay.Functions(sched)
	names := make([]string, len(fns))
	for i, f := range fns {
		names[i] = f.Deployment
	}
	for _, tc := range []struct {
		name    string
		cutAt   time.Duration
		wantAll bool
	}{
		{"to the end", 0, true},
		{"cut short", 1500 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if tc.cutAt > 0 {
				var c2 context.CancelFunc
				ctx, c2 = context.WithTimeout(ctx, tc.cutAt)
				defer c2()
			}
			fe, err := sys.StartFrontEnd(context.Background(), env, "ns", names)
			if err != nil {
				t.Fatal(err)
			}
			defer fe.Stop()
			recorded := 0
			acc, err := replay.Run(ctx, fe, replay.Config{Schedule: sched, Functions: fns,
				Record: func(r gateway.Result) error {
					recorded++
					if r.Reason != "" && r.Reason != gateway.ReasonCanceled {
						t.Errorf("%s %s failed: %s: %v", r.Record.Instance, r.Record.InvocationID, r.Reason, r.Err)
					}
					return nil
				}})
			t.Log(acc)
			if tc.wantAll && err != nil {
				t.Fatal(err)
			}
			if acc.Completed+acc.FailedTotal() != acc.Issued || recorded != acc.Issued {
				t.Errorf("%s: %d recorded", acc, recorded)
			}
			if tc.wantAll && (acc.Issued != sched.Len() || acc.Completed != acc.Issued) {
				t.Errorf("%s, want all %d completed", acc, sched.Len())
			}
			if !tc.wantAll && acc.Issued >= sched.Len() {
				t.Errorf("%s: cut at %s but all %d issued", acc, tc.cutAt, sched.Len())
			}
		})
	}
}
