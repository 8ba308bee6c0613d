package burststep

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/floor"
)

const tinyProfile = `
version: 1
name: tiny
nodes: 5
cost: {clusterUp: 20s, perRep: 3s, perPod: {"*": 10ms}}
experiments:
  - {name: scale-pods, systems: [kd], sizes: [10], reps: 3}
  - {name: azure-trace, systems: [kn-model, kn-model-kd], sizes: [5], reps: 3}
`

// The whole ae path on a real local cluster: a pipeline step through
// burst.Run, a step this build cannot run, the state and the report.
func TestPipelineOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	p, err := ae.ParseProfile([]byte(tinyProfile))
	require.NoError(t, err)
	bin := localtest.Binary(t)
	t.Setenv("KDBENCH_BIN", bin) // kd runs its controllers from it, not from the test binary
	reg := ae.Registry{}
	Register(reg, Runner{
		Provider: local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf}),
		Base:     clusters.Spec{Name: "ae-it"}, Settle: 500 * time.Millisecond, RepTimeout: time.Minute, Log: os.Stderr,
	})
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := (&ae.Pipeline{Profile: p, Out: out, Runners: reg, Log: os.Stderr}).Run(ctx)
	kd := st.Steps["scale-pods/kd"]
	require.NoError(t, err, kd.Error)
	require.Equal(t, ae.StatusDone, kd.Status)
	require.Positive(t, kd.Duration.D())
	require.Equal(t, ae.StatusNotRun, st.Steps["azure-trace/kn-model-kd"].Status)
	run, err := results.Open(filepath.Join(out, kd.ResultsDir))
	require.NoError(t, err)
	reps, err := run.Reps()
	require.NoError(t, err)
	// Each system's repetitions, and the floor's measurements beside them.
	bySystem := map[string]int{}
	for _, r := range reps {
		require.Equal(t, results.RepOK, r.State, r.Reason)
		bySystem[r.System]++
	}
	require.Equal(t, 3, bySystem["kd"], "kd repetitions: %v", reps)
	require.Positive(t, bySystem[floor.System], "floor measurements: %v", reps)

	rep, err := ae.WriteReport(ae.EvidenceFromState(out, st, p), ae.ReportOptions{Out: out, Source: out, Profile: p, State: st})
	require.NoError(t, err)
	require.Contains(t, rep.Figures, "fig9-scale-pods")
	require.FileExists(t, filepath.Join(out, ae.ReportHTML))
	for _, c := range rep.Claims {
		if c.ID == "knative-scheduling-latency" {
			require.Equal(t, ae.NotRun, c.Verdict)
			require.Equal(t, "not run: experiment azure-trace is not available in this build", c.Reason)
		}
	}
}
