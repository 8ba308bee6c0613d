package dirigent

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestRegistration(t *testing.T) {
	d := start(t, fastConfig(1))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "taken"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		fn         Function
		wantStatus int // 0: accepted
	}{
		{name: "valid", fn: Function{Name: "fn-1", CPUMilli: 100, MemoryMiB: 128}},
		{name: "duplicate", fn: Function{Name: "taken"}, wantStatus: http.StatusConflict},
		{name: "empty name", fn: Function{}, wantStatus: http.StatusBadRequest},
		{name: "upper case", fn: Function{Name: "Fn"}, wantStatus: http.StatusBadRequest},
		{name: "underscore", fn: Function{Name: "fn_1"}, wantStatus: http.StatusBadRequest},
		{name: "trailing dash", fn: Function{Name: "fn-"}, wantStatus: http.StatusBadRequest},
		{name: "negative memory", fn: Function{Name: "neg", MemoryMiB: -1}, wantStatus: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.Register(ctx, tc.fn)
			var se *StatusError
			switch {
			case tc.wantStatus == 0 && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.wantStatus != 0 && (!errors.As(err, &se) || se.Status != tc.wantStatus):
				t.Fatalf("got %v, want status %d", err, tc.wantStatus)
			}
		})
	}
	if err := d.Deregister(ctx, "nope"); err == nil {
		t.Error("deregistering an unknown function succeeded")
	}
	if err := d.Deregister(ctx, "taken"); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.ControlPlane.Function("taken"); ok {
		t.Error("deregistered function still known")
	}
	if err := d.Register(ctx, Function{Name: "taken"}); err != nil {
		t.Errorf("registering a deregistered name again: %v", err)
	}
}

func TestScaleUpAndDown(t *testing.T) {
	d := start(t, fastConfig(3))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "nope", 1); err == nil {
		t.Error("scaling an unknown function succeeded")
	}
	if err := d.Scale(ctx, "fn", -1); err == nil {
		t.Error("scaling to -1 succeeded")
	}
	for _, n := range []int{5, 8, 1, 0, 2} {
		if err := d.Scale(ctx, "fn", n); err != nil {
			t.Fatal(err)
		}
		eventually(t, "sandboxes to settle", func() bool {
			s := state(t, d, "fn")
			sum := 0
			for _, c := range workerSandboxes(d) {
				sum += c
			}
			return s.Ready == n && s.Sandboxes == n && sum == n
		})
		// Least-allocated placement spreads sandboxes evenly.
		per := workerSandboxes(d)
		if slices.Max(per)-slices.Min(per) > 1 {
			t.Errorf("scale to %d: sandboxes per worker %v, want balanced", n, per)
		}
	}
}

func TestPlacementRespectsCapacity(t *testing.T) {
	cfg := fastConfig(2)
	cfg.WorkerMemoryMiB = 256
	d := start(t, cfg)
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn", MemoryMiB: 128}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "fn", 6); err != nil {
		t.Fatal(err)
	}
	eventually(t, "4 sandboxes", func() bool { return state(t, d, "fn").Ready == 4 })
	if got := workerSandboxes(d); !slices.Equal(got, []int{2, 2}) {
		t.Errorf("sandboxes per worker %v, want [2 2]", got)
	}
}

func TestWorkerFailureRecreatesSandboxes(t *testing.T) {
	d := start(t, fastConfig(3))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "fn", 6); err != nil {
		t.Fatal(err)
	}
	eventually(t, "6 sandboxes", func() bool { return state(t, d, "fn").Ready == 6 })
	created := d.Workers[1].Created() + d.Workers[2].Created()
	d.Workers[0].Kill()
	eventually(t, "re-placement on the survivors", func() bool {
		return state(t, d, "fn").Ready == 6 && d.Workers[1].Sandboxes()+d.Workers[2].Sandboxes() == 6
	})
	if got := d.Workers[1].Created() + d.Workers[2].Created() - created; got != 2 {
		t.Errorf("survivors created %d sandboxes after the failure, want the dead worker's 2", got)
	}
	if got := d.ControlPlane.SandboxesOn("worker-0"); got != 0 {
		t.Errorf("control plane still places %d sandboxes on the dead worker", got)
	}
	// Invocations reach only live sandboxes.
	for i := range 20 {
		if _, err := d.Call(ctx, "fn", Call{ID: "x", RuntimeUs: 100}); err != nil {
			t.Fatalf("call %d after the failure: %v", i, err)
		}
	}
}

// TestWorkerRejoinsAfterFalseDeath: a worker declared dead while still
// running (its heartbeats were late) drops its sandboxes, which were
// re-created elsewhere, and rejoins as an empty, schedulable node.
func TestWorkerRejoinsAfterFalseDeath(t *testing.T) {
	d := start(t, fastConfig(2))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "fn", 4); err != nil {
		t.Fatal(err)
	}
	eventually(t, "4 sandboxes", func() bool { return state(t, d, "fn").Ready == 4 })
	cp := d.ControlPlane
	d.Workers[0].SilenceHeartbeats(300 * time.Millisecond) // twice the timeout
	eventually(t, "worker-0 to rejoin empty with the sandboxes on worker-1", func() bool {
		cp.mu.Lock()
		n := len(cp.workers)
		cp.mu.Unlock()
		return n == 2 && state(t, d, "fn").Ready == 4 && d.Workers[0].Sandboxes() == 0 && d.Workers[1].Sandboxes() == 4
	})
	// The rejoined worker takes new sandboxes again.
	if err := d.Scale(ctx, "fn", 6); err != nil {
		t.Fatal(err)
	}
	eventually(t, "new sandboxes on the rejoined worker", func() bool {
		return state(t, d, "fn").Ready == 6 && d.Workers[0].Sandboxes() == 2
	})
}

func TestCrashedSandboxIsReplaced(t *testing.T) {
	d := start(t, fastConfig(1))
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "fn", 3); err != nil {
		t.Fatal(err)
	}
	eventually(t, "3 sandboxes", func() bool { return state(t, d, "fn").Ready == 3 })
	w := d.Workers[0]
	crashed := w.SandboxIDs()[0]
	if err := w.CrashSandbox(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	if err := w.CrashSandbox(ctx, crashed); err == nil {
		t.Error("crashing a sandbox twice succeeded")
	}
	eventually(t, "a replacement", func() bool { return state(t, d, "fn").Ready == 3 && w.Created() == 4 })
	if slices.Contains(w.SandboxIDs(), crashed) {
		t.Errorf("crashed sandbox %s still listed", crashed)
	}
	// No call reaches the crashed sandbox.
	for range 20 {
		rep, err := d.Call(ctx, "fn", Call{ID: "x", RuntimeUs: 100})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sandbox == crashed {
			t.Fatalf("call served by crashed sandbox %s", crashed)
		}
	}
}
