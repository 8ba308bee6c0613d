package failoverstep

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/ae"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	_ "github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/workloads/failover"
)

func step(system string, warmup int, params map[string]string) ae.Step {
	e := ae.Experiment{Name: failover.Experiment, Systems: []string{system}, Sizes: []int{30, 60}, Reps: 3, Warmup: warmup, Params: params}
	return ae.Step{ID: e.Key() + "/" + system, Experiment: e, System: system, Nodes: 9}
}

func TestCheck(t *testing.T) {
	kickTheTires := map[string]string{ParamKinds: "crash,none", ParamPhases: "burst", ParamTargets: "replicaset"}
	for _, tt := range []struct {
		name         string
		step         ae.Step
		notAvailable string
		err          string
	}{
		{"kd+", step("kd+", 0, kickTheTires), "", ""},
		{"k8s+ with the defaults", step("k8s+", 0, nil), "", ""},
		{"not built in", step("kn-kd", 0, nil), "system kn-kd is not built into this kdbench", ""},
		{"unknown kind", step("kd+", 0, map[string]string{ParamKinds: "crash,explode"}), "", `param kinds: unknown kind "explode"`},
		{"misspelt param", step("kd+", 0, map[string]string{"target": "scheduler"}), "", `param "target": unknown`},
		{"nodes scaled with pods", step("kd+", 0, map[string]string{ParamPodsPerNode: "10"}), "", ""},
		{"pods per node not a count", step("kd+", 0, map[string]string{ParamPodsPerNode: "0"}), "", `param podsPerNode "0"`},
		{"warm-up asked for", step("kd+", 1, nil), "", "failover has no warm-up repetitions"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Runner{}).Check(tt.step)
			switch {
			case tt.notAvailable != "":
				require.True(t, ae.IsNotAvailable(err), "%v", err)
				require.ErrorContains(t, err, tt.notAvailable)
			case tt.err != "":
				require.False(t, ae.IsNotAvailable(err), "%v", err)
				require.ErrorContains(t, err, tt.err)
			default:
				require.NoError(t, err)
			}
		})
	}
}

// fakeRun stands in for failover.Run: it writes the run directory as the
// experiment does, one crash case per size, and returns runErr.
func fakeRun(t *testing.T, got *failover.Config, runErr error) func(context.Context, failover.Config) (*results.Run, []failover.Row, error) {
	return func(_ context.Context, cfg failover.Config) (*results.Run, []failover.Row, error) {
		*got = cfg
		run, err := results.Create(cfg.ResultsRoot, results.Manifest{Experiment: failover.Experiment, SizeUnit: "pods",
			Systems: cfg.Systems, Sizes: cfg.Sizes, Reps: cfg.Reps})
		require.NoError(t, err)
		log, err := failover.OpenLog(run.Path(failover.RecoveryFile))
		require.NoError(t, err)
		var rows []failover.Row
		for _, size := range cfg.Sizes {
			now := time.Now().UnixNano()
			row := failover.Row{Case: failover.Case{System: cfg.Systems[0], Size: size, Phase: failover.Burst, Target: failover.ReplicaSet, Kind: failover.Crash},
				Status: failover.StatusOK, Injected: now, Recovered: now + 1e6, Converged: now + int64(size)*1e7}
			require.NoError(t, log.Append(row))
			rows = append(rows, row)
		}
		require.NoError(t, log.Close())
		require.NoError(t, run.Finish(runErr, failover.Summary(rows)...))
		return run, rows, runErr
	}
}

var errTeardown = errors.New("tearing down cluster kdbench-ae-kd-plus: timeout")

func TestRunWritesWhereEvidenceFindsIt(t *testing.T) {
	for _, tt := range []struct {
		name    string
		runErr  error
		verdict ae.Verdict
	}{
		{"clean", nil, ae.Reproduced},
		// 300 ms at 30 pods, 600 ms at 60: exactly 2×, still scalable.
		{"a harness error fails the step, its results are still judged", errTeardown, ae.Reproduced},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cfg failover.Config
			r := &Runner{Hold: 3 * time.Second, run: fakeRun(t, &cfg, tt.runErr)}
			s := step("kd+", 0, map[string]string{ParamKinds: "crash,none", ParamPhases: "burst", ParamTargets: "replicaset", ParamPodsPerNode: "5"})
			out := t.TempDir()
			dir, err := r.Run(context.Background(), s, filepath.Join(out, ae.StepDir(s)))
			require.True(t, errors.Is(err, tt.runErr), "%v", err)
			require.NotEmpty(t, dir)

			require.Equal(t, []string{"kd+"}, cfg.Systems)
			require.Equal(t, []int{30, 60}, cfg.Sizes)
			require.Equal(t, 3, cfg.Reps)
			require.Equal(t, []failover.Kind{failover.Crash, failover.None}, cfg.Kinds)
			require.Equal(t, []failover.Phase{failover.Burst}, cfg.Phases)
			require.Equal(t, []failover.Target{failover.ReplicaSet}, cfg.Targets)
			ex, ok := cfg.Executor.(*failover.ClusterExecutor)
			require.True(t, ok)
			require.Equal(t, 9, ex.Base.Nodes)
			require.Equal(t, 5, ex.PodsPerNode)
			require.Equal(t, 3*time.Second, ex.Hold)
			require.Equal(t, 5*time.Minute, ex.CaseTimeout, "the default")

			rel, err := filepath.Rel(out, dir)
			require.NoError(t, err)
			st := &ae.State{Steps: map[string]*ae.StepState{s.ID: {Status: ae.StatusDone, ResultsDir: rel}}}
			ev := ae.EvidenceFromState(out, st, nil)
			require.Empty(t, ev.Warnings)
			require.Len(t, ev.Runs, 1)
			for _, c := range ae.Claims {
				if c.ID == "failure-recovery" {
					o := c.Evaluate(ev, stats.BootstrapOptions{})
					require.Equal(t, tt.verdict, o.Verdict, "%+v", o)
					require.Contains(t, o.Measured, "kd+: 2/2 crash cases converged")
				}
			}
		})
	}
}
