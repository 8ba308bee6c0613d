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

// TestTraceReplayOnLocalCluster replays a small trace through kn-k8s and
// kn-kd on one real local cluster: every invocation must complete, cold
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

	knK8s := New("kn-k8s", k8s.System{}, KnativeProfile())
	knKd := New("kn-kd", kd.New("kd", 0, bin), KnativeProfile())
	env := replaytest.LocalEnv(ctx, t, bin, knK8s.Cluster(clusters.Spec{Name: "kn", Nodes: 4}))
	sums := replaytest.ReplayEach(ctx, t, env, replaytest.SmallSchedule(t, 10, 20, 11), knK8s, knKd)
	t.Logf("kn-kd / kn-k8s median per-function scheduling latency: %.2f",
		sums["kn-kd"].SchedulingLatencyMs.P50/sums["kn-k8s"].SchedulingLatencyMs.P50)
}
