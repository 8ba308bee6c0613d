package tracestep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/baselines"
	_ "github.com/kdbench/kdbench/baselines/dirigent"
	_ "github.com/kdbench/kdbench/baselines/drfaas"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	_ "github.com/kdbench/kdbench/baselines/knative"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/trace"
)

func step(system string, sizes []int, reps, warmup int, params map[string]string) ae.Step {
	e := ae.Experiment{Name: replay.ExperimentName, Systems: []string{system}, Sizes: sizes, Reps: reps, Warmup: warmup, Params: params}
	return ae.Step{ID: e.Key() + "/" + system, Experiment: e, System: system, Nodes: 7}
}

func TestCheck(t *testing.T) {
	baselines.Refuse("kn-test-refused", "a test's refusal")
	for _, tt := range []struct {
		name         string
		step         ae.Step
		notAvailable string
		err          string
	}{
		{"knative model on kd", step("kn-model-kd", []int{10}, 3, 0, map[string]string{ParamGranularity: "second", ParamMinutes: "6", ParamWarmupMinutes: "0"}), "", ""},
		{"dirigent, paper defaults", step("dirigent", []int{500}, 3, 0, nil), "", ""},
		{"a burst system has no front-end", step("k8s", []int{10}, 3, 0, nil), "system k8s has no FaaS front-end", ""},
		{"not built in", step("kn-kd-next", []int{10}, 3, 0, nil), "system kn-kd-next is not built into this kdbench", ""},
		{"real knative", step("kn-kd", []int{10}, 3, 0, nil), "", ""},
		{"refused in this build", step("kn-test-refused", []int{10}, 3, 0, nil), "system kn-test-refused is refused in this build: a test's refusal", ""},
		{"misspelt param", step("kn-model-kd", []int{10}, 3, 0, map[string]string{"minute": "6"}), "", `param "minute": unknown`},
		{"bad granularity", step("kn-model-kd", []int{10}, 3, 0, map[string]string{ParamGranularity: "hour"}), "", "param granularity \"hour\": want minute or second"},
		{"warm-up as long as the clip", step("kn-model-kd", []int{10}, 3, 0, map[string]string{ParamMinutes: "5", ParamWarmupMinutes: "5"}), "", "5 warm-up columns must be within the 5-column clip"},
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

// fakeReplay writes, as the replay does, one loader CSV of two functions ×
// three invocations per replay into <root>/<time>-azure-trace/, and
// records the experiments it was asked for. fail says which calls (from
// 1) fail without a report.
type fakeReplay struct {
	calls []replay.Experiment
	fail  func(call int) bool
}

func (f *fakeReplay) run(_ context.Context, e replay.Experiment) (*replay.Report, error) {
	f.calls = append(f.calls, e)
	if f.fail != nil && f.fail(len(f.calls)) {
		return nil, errors.New("cluster did not come up")
	}
	dir := filepath.Join(e.ResultsRoot, fmt.Sprintf("2026010%d-120000-azure-trace", len(f.calls)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := e.Systems[0].Name()
	out, err := trace.CreateResultFile(filepath.Join(dir, trace.ResultFileName(baselines.Slug(name), e.Minutes)))
	if err != nil {
		return nil, err
	}
	for fn := range 2 {
		for k := range 3 {
			r := trace.Record{Phase: 2, Instance: fmt.Sprintf("f%d-x", fn), InvocationID: fmt.Sprintf("sec%d.inv%d", k, fn),
				RequestedDurationUs: 100_000, ActualDurationUs: 100_000, ResponseTimeUs: 120_000 + int64(k)*1000}
			if err := out.Write(&r); err != nil {
				return nil, err
			}
		}
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return &replay.Report{Dir: dir, Summaries: []replay.Summary{{System: name, Issued: 6}}}, nil
}

// Run replays warm-up + measured repetitions and leaves only the measured
// ones' CSVs where the pipeline's evidence credits them to the step's system.
func TestRunWritesWhereEvidenceFindsIt(t *testing.T) {
	fake := &fakeReplay{}
	r := &Runner{replay: fake.run}
	s := step("dr-kd+", []int{4}, 3, 1, map[string]string{ParamGranularity: "second", ParamMinutes: "5", ParamWarmupMinutes: "0", ParamSeed: "7"})
	out := t.TempDir()
	stepDir := filepath.Join(out, ae.StepDir(s))
	dir, err := r.Run(context.Background(), s, stepDir)
	require.NoError(t, err)
	require.Equal(t, stepDir, dir)

	require.Len(t, fake.calls, 4, "one warm-up and three measured replays")
	for _, e := range fake.calls {
		require.Equal(t, trace.Second, e.Granularity)
		require.Equal(t, 4, e.Functions)
		require.Equal(t, 5, e.Minutes)
		require.Equal(t, 0, e.WarmupMinutes)
		require.EqualValues(t, 7, e.Seed)
		require.Equal(t, 7, e.Base.Nodes)
		require.FileExists(t, filepath.Join(e.TraceDir, trace.InvocationsFile), "a synthetic trace")
	}
	require.NoDirExists(t, filepath.Join(stepDir, "warmup"))

	rel, err := filepath.Rel(out, dir)
	require.NoError(t, err)
	st := &ae.State{Steps: map[string]*ae.StepState{s.ID: {Status: ae.StatusDone, ResultsDir: rel}}}
	ev := ae.EvidenceFromState(out, st, nil)
	require.Empty(t, ev.Warnings)
	require.Len(t, ev.Traces["dr-kd+"].Files, 3)
	require.Len(t, ev.Traces["dr-kd+"].CSV, 3*6)
}

// A failed replay fails the step, but the other repetitions still run and
// what they measured is kept.
func TestRunKeepsWhatWasMeasured(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fail    func(int) bool
		wantDir bool
	}{
		{"first fails", func(n int) bool { return n == 1 }, true},
		{"all fail", func(int) bool { return true }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeReplay{fail: tt.fail}
			s := step("kn-model-kd", []int{3}, 3, 0, map[string]string{ParamTrace: "testdata-none", ParamMinutes: "4", ParamWarmupMinutes: "0"})
			out := t.TempDir()
			dir, err := (&Runner{replay: fake.run}).Run(context.Background(), s, out)
			require.ErrorContains(t, err, "3 functions, repetition 0: cluster did not come up")
			require.Len(t, fake.calls, 3, "the other repetitions still run")
			require.Equal(t, "testdata-none", fake.calls[0].TraceDir, "the params' trace, not a synthetic one")
			if tt.wantDir {
				require.Equal(t, out, dir)
			} else {
				require.Empty(t, dir)
			}
		})
	}
}
