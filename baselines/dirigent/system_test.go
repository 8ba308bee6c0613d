package dirigent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
)

func TestSystem(t *testing.T) {
	sys, err := baselines.Get("dirigent")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := baselines.Env{Cluster: &clusters.Cluster{Nodes: 3, SandboxDelay: 10 * time.Millisecond}, Logf: t.Logf}
	if err := sys.Scale(ctx, env, "ns", "fn", 1); err == nil {
		t.Error("Scale before Prepare succeeded")
	}
	if err := sys.Prepare(ctx, env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Teardown(context.Background(), env) })
	d := sys.(*System).Deployment()
	if len(d.Workers) != 3 {
		t.Errorf("%d workers, want one per node (3)", len(d.Workers))
	}
	// Concurrent first scale requests of the same functions, as a burst
	// issues them, register each function once.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sys.Scale(ctx, env, "ns", fmt.Sprintf("fn%d", i%5), 4); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 5 {
		if err := d.waitReady(ctx, fmt.Sprintf("fn%d", i), 4); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.ControlPlane.Creations(); got != 20 {
		t.Errorf("%d sandboxes created, want 5 functions × 4", got)
	}
	if err := sys.Teardown(ctx, env); err != nil {
		t.Fatal(err)
	}
	if sys.(*System).Deployment() != nil {
		t.Error("deployment survives Teardown")
	}
}
