package dirigent

import (
	"context"
	"testing"
	"time"
)

// fastConfig shrinks every period so a deployment reacts in milliseconds.
func fastConfig(workers int) Config {
	return Config{
		Workers:           workers,
		CreationCost:      5 * time.Millisecond,
		HeartbeatInterval: 20 * time.Millisecond,
		HeartbeatTimeout:  150 * time.Millisecond,
		DispatchTimeout:   5 * time.Second,
		Autoscaler: AutoscalerConfig{
			Period: 20 * time.Millisecond, StableWindow: 600 * time.Millisecond, PanicWindow: 60 * time.Millisecond,
			PanicThreshold: 2, MaxScaleUpRate: 1000, MaxScaleDownRate: 2, Target: 1,
		},
	}
}

func start(t *testing.T, cfg Config) *Deployment {
	t.Helper()
	d, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(t *testing.T, d *Deployment, fn string) FunctionState {
	t.Helper()
	s, ok := d.ControlPlane.Function(fn)
	if !ok {
		t.Fatalf("function %s is not registered", fn)
	}
	return s
}

func workerSandboxes(d *Deployment) []int {
	out := make([]int, len(d.Workers))
	for i, w := range d.Workers {
		out[i] = w.Sandboxes()
	}
	return out
}
