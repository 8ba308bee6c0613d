package drfaas

import (
	"context"
	"testing"
	"time"

	"github.com/kdbench/kdbench/baselines/dirigent"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/replay/replaytest"
)

// TestFig13TraceReplayOnLocalCluster replays a small trace through
// dirigent, dr-k8s+ and dr-kd+ on one real local cluster (they ask for the
// same spec: the "+" sandbox delay). Every issued invocation must complete
// and appear in the loader CSV, cold starts from zero included: Dirigent's
// own data plane and workers, and Dirigent's front-end scaling k8s+ through
// the API server and kd+ over the Kubedirect link.
func TestFig13TraceReplayOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	systems := []replay.FrontEnder{
		&dirigent.System{},
		K8sPlus(k8s.New("k8s+", k8s.PlusSandboxDelay)),
		KdPlus(kd.New("kd+", kd.PlusSandboxDelay, bin)),
	}
	spec := systems[0].Cluster(clusters.Spec{Name: "dr", Nodes: 4})
	for _, s := range systems[1:] {
		if got := s.Cluster(clusters.Spec{Name: "dr", Nodes: 4}); got != spec {
			t.Fatalf("%s wants cluster %+v, dirigent %+v: they would not share one", s.Name(), got, spec)
		}
	}
	env := replaytest.LocalEnv(ctx, t, bin, spec)
	sums := replaytest.ReplayEach(ctx, t, env, replaytest.SmallSchedule(t, 10, 15, 13), systems...)
	p50 := func(name string) float64 { return sums[name].SchedulingLatencyMs.P50 }
	t.Logf("median per-function scheduling latency: dr-kd+/dirigent %.2f, dr-kd+/dr-k8s+ %.2f",
		p50("dr-kd+")/p50("dirigent"), p50("dr-kd+")/p50("dr-k8s+"))
}
