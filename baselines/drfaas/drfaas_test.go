package drfaas

import (
	"testing"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/dirigent"
	"github.com/kdbench/kdbench/baselines/knative"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/workloads/replay"
)

// TestRegisteredSystems checks that dr-k8s+ and dr-kd+ resolve by name, run
// the Dirigent profile, replay traces and use the inner "+" system's cluster
// (the 200 ms sandbox delay), so they share a cluster with k8s+ and kd+.
func TestRegisteredSystems(t *testing.T) {
	for _, tc := range []struct{ name, inner string }{
		{"dr-k8s+", "k8s+"},
		{"dr-kd+", "kd+"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := baselines.Get(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			ks, ok := s.(*knative.System)
			if !ok {
				t.Fatalf("%s is a %T, want a *knative.System", tc.name, s)
			}
			if _, ok := s.(replay.FrontEnder); !ok {
				t.Errorf("%s cannot replay a trace", tc.name)
			}
			if got := ks.Inner().Name(); got != tc.inner {
				t.Errorf("inner system %q, want %q", got, tc.inner)
			}
			p := ks.Profile()
			if !p.Autoscaler.Dirigent || p.Autoscaler.Target != 1 || p.Gateway.ContainerConcurrency != 1 || p.Gateway.DispatchTimeout != 30*time.Second {
				t.Errorf("profile %+v is not Dirigent's (target 1, concurrency 1, 30 s dispatch timeout, immediate scale from zero)", p)
			}
			if err := p.Autoscaler.Validate(); err != nil {
				t.Error(err)
			}
			inner, err := baselines.Get(tc.inner)
			if err != nil {
				t.Fatal(err)
			}
			base := clusters.Spec{Name: "c", Nodes: 4}
			if got, want := s.Cluster(base), inner.Cluster(base); got != want || got.SandboxDelay == 0 {
				t.Errorf("cluster spec %+v, want the inner system's %+v with a sandbox delay", got, want)
			}
			// Fig 13 puts dirigent beside them at the same sandbox cost.
			if got, want := (&dirigent.System{}).Cluster(base), s.Cluster(base); got != want {
				t.Errorf("dirigent's cluster spec %+v differs from %s's %+v: no shared cluster or sandbox cost", got, tc.name, want)
			}
		})
	}
}
