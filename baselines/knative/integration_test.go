package knative

import (
	"context"
	"testing"
	"time"

	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/workloads/replay/replaytest"
)

// TestTraceReplayOnLocalCluster replays a small trace through kn-model and
// kn-model-kd on one real local cluster: every invocation must complete, cold
// starts included, with the KPA scaling through the API server and over the
// Kubedirect link respectively.
func TestTraceReplayOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	knK8s := New(ModelK8s, k8s.New("k8s", 0), KnativeProfile())
	knKd := New(ModelKd, kd.New("kd", 0, bin), KnativeProfile())
	env := replaytest.LocalEnv(ctx, t, bin, knK8s.Cluster(clusters.Spec{Name: "kn", Nodes: 4}))
	sums := replaytest.ReplayEach(ctx, t, env, replaytest.SmallSchedule(t, 10, 20, 11), knK8s, knKd)
	t.Logf("kn-model-kd / kn-model median per-function scheduling latency: %.2f",
		sums[ModelKd].SchedulingLatencyMs.P50/sums[ModelK8s].SchedulingLatencyMs.P50)
}
