package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/trace"
)

func TestColdStartQueuesUntilReady(t *testing.T) {
	cfg := fastConfig(2)
	cfg.CreationCost = 100 * time.Millisecond
	d := start(t, cfg)
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn", Autoscale: true}); err != nil {
		t.Fatal(err)
	}
	rec, err := d.Invoke(ctx, "fn", Call{ID: "min0.inv0", RuntimeUs: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if rec.TimeToSubmitUs < cfg.CreationCost.Microseconds() {
		t.Errorf("cold start queued %d µs, want at least the creation cost %v", rec.TimeToSubmitUs, cfg.CreationCost)
	}
	if rec.ActualDurationUs < 10_000 || rec.ResponseTimeUs < rec.TimeToSubmitUs+rec.ActualDurationUs {
		t.Errorf("record %+v: response time does not cover queueing and execution", rec)
	}
	// The sandbox is now warm: the next call does not queue for a creation.
	rep, err := d.Call(ctx, "fn", Call{ID: "min0.inv1", RuntimeUs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ColdStart || rep.QueueUs >= cfg.CreationCost.Microseconds() {
		t.Errorf("warm call %+v: want no cold start", rep)
	}
}

func TestUnknownFunction(t *testing.T) {
	d := start(t, fastConfig(1))
	_, err := d.Call(context.Background(), "nope", Call{ID: "x"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Fatalf("got %v, want 404", err)
	}
}

// TestNoLostInvocations issues concurrent calls while the function is
// scaled up and down under them: every call completes or fails with a
// reason, and only calls that found no sandbox in time may fail.
func TestNoLostInvocations(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sandboxes  []int // scale steps while calls run
		timeout    time.Duration
		wantFailed bool
	}{
		{name: "queue behind few sandboxes", sandboxes: []int{2}, timeout: 5 * time.Second},
		{name: "scale down under load", sandboxes: []int{4, 1, 3, 1}, timeout: 5 * time.Second},
		{name: "no sandbox times out", sandboxes: []int{0}, timeout: 100 * time.Millisecond, wantFailed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastConfig(2)
			cfg.DispatchTimeout = tc.timeout
			d := start(t, cfg)
			ctx := context.Background()
			if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
				t.Fatal(err)
			}
			if err := d.Scale(ctx, "fn", tc.sandboxes[0]); err != nil {
				t.Fatal(err)
			}
			const issued = 100
			var completed, failed atomic.Int32
			var wg sync.WaitGroup
			for i := range issued {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec, err := d.Invoke(ctx, "fn", Call{ID: fmt.Sprintf("min0.inv%d", i), RuntimeUs: 5000})
					switch {
					case err == nil:
						completed.Add(1)
					case !rec.Failed():
						t.Errorf("call %d failed (%v) but its record is not marked failed", i, err)
					case tc.wantFailed && !rec.ConnectionTimeout:
						t.Errorf("call %d: %v: want a connection timeout", i, err)
					case !tc.wantFailed:
						t.Errorf("call %d: %v", i, err)
					default:
						failed.Add(1)
					}
				}()
			}
			for _, n := range tc.sandboxes[1:] {
				time.Sleep(30 * time.Millisecond)
				if err := d.Scale(ctx, "fn", n); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if got := completed.Load() + failed.Load(); got != issued {
				t.Errorf("issued %d, completed %d + failed %d", issued, completed.Load(), failed.Load())
			}
			if tc.wantFailed != (failed.Load() > 0) {
				t.Errorf("failed %d, want failures: %v", failed.Load(), tc.wantFailed)
			}
		})
	}
}

func TestAutoscalerFollowsLoad(t *testing.T) {
	d := start(t, fastConfig(2))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn", Autoscale: true}); err != nil {
		t.Fatal(err)
	}
	// 8 concurrent 300 ms calls: the panic window must ask for more than
	// the one sandbox scale-from-zero gives.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Call(ctx, "fn", Call{ID: fmt.Sprint(i), RuntimeUs: 300_000}); err != nil {
				t.Error(err)
			}
		}()
	}
	eventually(t, "scale-up beyond one sandbox", func() bool { return state(t, d, "fn").Ready > 1 })
	wg.Wait()
	// Idle after the first stable window: scaled to zero without grace.
	eventually(t, "scale to zero", func() bool { s := state(t, d, "fn"); return s.Desired == 0 && s.Sandboxes == 0 })
}

func TestRecordsFeedFig13Metrics(t *testing.T) {
	d := start(t, fastConfig(2))
	ctx := context.Background()
	var recs []trace.Record
	for _, fn := range []string{"a", "b"} {
		if err := d.Register(ctx, Function{Name: fn}); err != nil {
			t.Fatal(err)
		}
		if err := d.Scale(ctx, fn, 1); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a sandbox", func() bool { return state(t, d, fn).Ready == 1 })
		for i := range 3 {
			rec, err := d.Invoke(ctx, fn, Call{ID: fmt.Sprintf("min1.inv%d", i), RuntimeUs: 2000})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
	}
	m := metrics.Compute(metrics.Artifact, &metrics.Source{System: "dirigent", Format: metrics.CSV, CSV: recs}, 0)
	lat, slow := m[metrics.SchedulingLatency], m[metrics.Slowdown]
	if len(lat.Functions) != 2 || len(slow.Functions) != 2 {
		t.Fatalf("scheduling latency over %d functions, slowdown over %d; want 2 each", len(lat.Functions), len(slow.Functions))
	}
	for i, f := range lat.Functions {
		if f.Value <= 0 || f.Value > 1000 {
			t.Errorf("function %s: scheduling latency %.3f ms, want a small positive overhead", f.Function, f.Value)
		}
		if slow.Functions[i].Value < 1 {
			t.Errorf("function %s: slowdown %.3f below 1", f.Function, slow.Functions[i].Value)
		}
	}
}

// TestDataPlanesShareTheLoad: every data plane learns every function's
// sandboxes, and the autoscaler sums the load the data planes report.
func TestDataPlanesShareTheLoad(t *testing.T) {
	cfg := fastConfig(2)
	cfg.DataPlanes = 2
	d := start(t, cfg)
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn", Autoscale: true}); err != nil {
		t.Fatal(err)
	}
	// 3 long calls through each data plane: 6 in flight in total, which
	// neither data plane alone reports.
	var wg sync.WaitGroup
	for _, dp := range d.DataPlanes {
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := dp.Invoke(ctx, "fn", Call{ID: fmt.Sprint(i), RuntimeUs: 400_000}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	eventually(t, "6 sandboxes for the load of both data planes", func() bool { return state(t, d, "fn").Ready >= 6 })
	wg.Wait()
}

func TestDeregisterFailsQueuedCalls(t *testing.T) {
	d := start(t, fastConfig(1))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := d.Call(ctx, "fn", Call{ID: "x"}); errc <- err }()
	eventually(t, "the call to queue", func() bool {
		dp := d.DataPlanes[0]
		dp.mu.Lock()
		defer dp.mu.Unlock()
		return dp.queues["fn"].waiters.Len() == 1
	})
	if err := d.Deregister(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	if err := <-errc; !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Fatalf("queued call of a deregistered function: %v, want 404", err)
	}
	// A stale update cannot revive the function in the data plane.
	dp := d.DataPlanes[0]
	dp.mu.Lock()
	v := dp.queues["fn"].version
	dp.mu.Unlock()
	stale := endpointsUpdate{Function: "fn", Version: v - 1, Sandboxes: []SandboxRef{{ID: "old", URL: "http://127.0.0.1:1/invoke"}}}
	if err := post(ctx, newClient(), http.MethodPost, dp.URL()+pathEndpoints, stale, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Call(ctx, "fn", Call{ID: "y"}); !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Fatalf("call after a stale update: %v, want 404", err)
	}
	// Registering again brings it back.
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "fn", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Call(ctx, "fn", Call{ID: "z"}); err != nil {
		t.Fatal(err)
	}
}
