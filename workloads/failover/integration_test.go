package failover_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/failover"
)

// TestKdFailoverBurst is the shortened failover run: kd, 60 pods on 10
// nodes, each Kubedirect hop (the autoscaler included) crashed and
// restarted empty once mid-burst and the link into each process hop cut
// once; every case must converge to exactly 60 Ready pods with no
// duplicate, no resurrected pod and nothing left after scaling to zero.
func TestKdFailoverBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t)
	t.Setenv("KDBENCH_BIN", bin) // the hops run from kdbench, not from this test binary
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	prov := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	run, rows, err := failover.Run(ctx, failover.Config{
		Systems: []string{"kd"}, Sizes: []int{60}, Reps: 1, Phases: []failover.Phase{failover.Burst},
		Targets: []failover.Target{failover.Autoscaler, failover.Deployment, failover.ReplicaSet, failover.Scheduler, failover.NodeAgent},
		Kinds:   []failover.Kind{failover.Crash, failover.Cut}, ResultsRoot: t.TempDir(),
		Executor: &failover.ClusterExecutor{Provider: prov, Base: clusters.Spec{Name: "fo", Nodes: 10},
			Hold: time.Second, CaseTimeout: time.Minute, Logf: t.Logf},
		Log: testWriter{t},
	})
	require.NoError(t, err)
	require.NotNil(t, run)
	require.Len(t, rows, 10)
	for _, r := range rows {
		if r.Target == failover.Autoscaler && r.Kind == failover.Cut {
			assert.Equal(t, failover.StatusSkipped, r.Status, "no link leads into the autoscaler")
			continue
		}
		assert.Equal(t, failover.StatusOK, r.Status, "%s: %s %s", r.Case, failover.FormatViolations(r.Violations), r.Detail)
		assert.Positive(t, r.Recovery(), r.Case)
		if r.Kind == failover.Cut {
			assert.GreaterOrEqual(t, time.Duration(r.Recovered-r.Injected), time.Second, "%s: a cut lasts the hold time", r.Case)
		}
		if r.Kind == failover.Crash {
			assert.Positive(t, r.Resync(), "%s: restart until links resynced is recorded", r.Case)
		}
		// Each case's pods, with the node that ran them, beside recovery.csv.
		pods, perr := results.ReadPodsFile(run.Path(r.PodsFile()))
		if assert.NoError(t, perr, r.Case) {
			onNode := 0 // a pod replaced before its bind has none
			for _, p := range pods {
				if p.Node != "" {
					onNode++
				}
			}
			assert.GreaterOrEqual(t, onNode, 60, r.Case)
		}
		// The autoscaler link is the subject of these cases only.
		linked := r.Target == failover.Autoscaler || (r.Target == failover.Deployment && r.Kind == failover.Cut)
		assert.Equal(t, linked, strings.Contains(r.Detail, failover.LinkScaledNote), "%s: %s", r.Case, r.Detail)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
