package ae

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeRunner records the steps it ran; it can fail one or cancel the
// pipeline's context during one, as Ctrl-C would.
type fakeRunner struct {
	ran      []string
	failOn   string
	cancelOn string
	cancel   context.CancelFunc
	missing  string // a system it reports as not built in
}

func (f *fakeRunner) Check(s Step) error {
	if s.System == f.missing {
		return NotAvailable("system %s is not built into this kdbench", s.System)
	}
	return nil
}

func (f *fakeRunner) Run(ctx context.Context, s Step, outDir string) (string, error) {
	f.ran = append(f.ran, s.ID)
	dir := filepath.Join(outDir, "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	switch s.ID {
	case f.failOn:
		return dir, errors.New("rep 2 timed out")
	case f.cancelOn:
		f.cancel()
		return dir, ctx.Err()
	}
	return dir, nil
}

const pipelineProfile = `
version: 1
name: pipe
nodes: 10
cost: {clusterUp: 10s, perRep: 1s, perPod: {"*": 10ms}}
experiments:
  - {name: scale-pods, systems: [k8s, kd], sizes: [100], reps: 3}
  - {name: scale-funcs, systems: [k8s, kd], sizes: [10], reps: 3}
  - {name: azure-trace, systems: [kn-model, kn-model-kd], sizes: [5], reps: 3}
`

func newPipeline(t *testing.T, out string, r *fakeRunner) *Pipeline {
	p, err := ParseProfile([]byte(pipelineProfile))
	require.NoError(t, err)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Pipeline{
		Profile: p, Out: out, Log: &bytes.Buffer{},
		Runners: Registry{"scale-pods": r, "scale-funcs": r},
		Now:     func() time.Time { clock = clock.Add(time.Second); return clock },
	}
}

func statuses(st *State) map[string]Status {
	out := map[string]Status{}
	for id, s := range st.Steps {
		out[id] = s.Status
	}
	return out
}

func TestPipelineResumesAfterInterruption(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &fakeRunner{cancelOn: "scale-funcs/k8s", cancel: cancel}
	st, err := newPipeline(t, out, first).Run(ctx)
	require.True(t, ErrInterrupted(err), "%v", err)
	require.Equal(t, []string{"scale-pods/k8s", "scale-pods/kd", "scale-funcs/k8s"}, first.ran)
	require.Equal(t, map[string]Status{"scale-pods/k8s": StatusDone, "scale-pods/kd": StatusDone, "scale-funcs/k8s": StatusFailed}, statuses(st))

	// What is on disk, not what is in memory, drives the re-run.
	saved, ok, err := LoadState(out)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, statuses(st), statuses(saved))
	require.Equal(t, "results/scale-funcs_k8s/run", saved.Steps["scale-funcs/k8s"].ResultsDir)

	second := &fakeRunner{}
	st, err = newPipeline(t, out, second).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"scale-funcs/k8s", "scale-funcs/kd"}, second.ran, "only the unfinished steps run again")
	require.Equal(t, map[string]Status{
		"scale-pods/k8s": StatusDone, "scale-pods/kd": StatusDone, "scale-funcs/k8s": StatusDone, "scale-funcs/kd": StatusDone,
		"azure-trace/kn-model": StatusNotRun, "azure-trace/kn-model-kd": StatusNotRun,
	}, statuses(st))
	require.Equal(t, []string{"results/scale-funcs_k8s/run"}, st.Steps["scale-funcs/k8s"].Earlier, "the interrupted attempt's results stay listed")
	require.Equal(t, "experiment azure-trace is not available in this build", st.Steps["azure-trace/kn-model-kd"].Error)
	require.Equal(t, Duration(time.Second), st.Steps["scale-pods/kd"].Duration)

	third := &fakeRunner{}
	_, err = newPipeline(t, out, third).Run(context.Background())
	require.NoError(t, err)
	require.Empty(t, third.ran, "a finished pipeline has nothing left to run")

	restart := &fakeRunner{}
	p := newPipeline(t, out, restart)
	p.Restart = true
	_, err = p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, restart.ran, 4, "--restart runs every runnable step again")
}

// A process killed mid-step leaves the step "running" and maybe a partial
// results directory that the state never named; the re-run lists it.
func TestPipelineResumesAfterCrash(t *testing.T) {
	out := t.TempDir()
	p := newPipeline(t, out, &fakeRunner{})
	st := &State{Version: StateVersion, Profile: p.Profile.Name, ProfileDigest: p.Profile.Digest(), Steps: map[string]*StepState{
		"scale-pods/k8s": {Status: StatusDone, ResultsDir: "results/scale-pods_k8s/run"},
		"scale-pods/kd":  {Status: StatusRunning},
	}}
	require.NoError(t, st.Save(out))
	partial := filepath.Join(out, "results", "scale-pods_kd", "20260101T000000Z-scale-pods")
	require.NoError(t, os.MkdirAll(partial, 0o755))

	r := &fakeRunner{}
	p.Runners = Registry{"scale-pods": r, "scale-funcs": r}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"scale-pods/kd", "scale-funcs/k8s", "scale-funcs/kd"}, r.ran)
	require.Equal(t, []string{"results/scale-pods_kd/20260101T000000Z-scale-pods"}, st.Steps["scale-pods/kd"].Earlier)
}

func TestPipelineFailureDoesNotStopTheRest(t *testing.T) {
	out := t.TempDir()
	r := &fakeRunner{failOn: "scale-pods/k8s", missing: "kd"}
	st, err := newPipeline(t, out, r).Run(context.Background())
	require.ErrorContains(t, err, "1 step(s) failed: scale-pods/k8s")
	require.Equal(t, []string{"scale-pods/k8s", "scale-funcs/k8s"}, r.ran)
	require.Equal(t, StatusFailed, st.Steps["scale-pods/k8s"].Status)
	require.Equal(t, "rep 2 timed out", st.Steps["scale-pods/k8s"].Error)
	require.Equal(t, StatusNotRun, st.Steps["scale-pods/kd"].Status)
	require.Equal(t, "system kd is not built into this kdbench", st.Steps["scale-pods/kd"].Error)

	again := &fakeRunner{}
	_, err = newPipeline(t, out, again).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"scale-pods/k8s", "scale-pods/kd", "scale-funcs/kd"}, again.ran, "failed and not-run steps are retried")
}

func TestPipelineRefusesAnotherProfilesDirectory(t *testing.T) {
	out := t.TempDir()
	_, err := newPipeline(t, out, &fakeRunner{}).Run(context.Background())
	require.NoError(t, err)
	p := newPipeline(t, out, &fakeRunner{})
	p.Profile.Experiments[0].Sizes = []int{200}
	_, err = p.Run(context.Background())
	require.ErrorContains(t, err, "was made by another profile")
	p.Restart = true
	_, err = p.Run(context.Background())
	require.NoError(t, err)
}

func TestProgressCountsOnlyRunnableSteps(t *testing.T) {
	p, err := ParseProfile([]byte(pipelineProfile))
	require.NoError(t, err)
	st := &State{Steps: map[string]*StepState{"scale-pods/k8s": {Status: StatusDone}}}
	pr := newProgress(&bytes.Buffer{}, p.Steps(), p, Registry{"scale-pods": &fakeRunner{}}, st, time.Now)
	// scale-pods/kd remains; scale-funcs and azure-trace have no runner.
	require.Equal(t, p.Estimate(p.Steps()[1]), pr.remaining)
	require.Equal(t, 2*p.Estimate(p.Steps()[1]), pr.total)
}

func TestProgressETA(t *testing.T) {
	pr := &progress{remaining: 10 * time.Minute}
	require.Equal(t, 10*time.Minute, pr.ETA(), "nothing run yet: the estimate")
	pr.estDone, pr.actDone = time.Minute, 2*time.Minute
	require.Equal(t, 20*time.Minute, pr.ETA(), "steps took twice their estimate: so will the rest")
}

func TestWritePlan(t *testing.T) {
	p, err := ParseProfile([]byte(pipelineProfile))
	require.NoError(t, err)
	var buf bytes.Buffer
	est, err := WritePlan(&buf, p, Registry{"scale-pods": &fakeRunner{missing: "kd"}})
	require.NoError(t, err)
	require.Equal(t, 16*time.Second, est, "only scale-pods/k8s runs: 10 s + 3 × (1 s + 100 × 10 ms)")
	for _, want := range []string{
		"scale-pods/k8s", "100 pods", "0+3", "16s", "will run",
		"scale-pods/kd", "not run: system kd is not built into this kdbench",
		"scale-funcs/k8s", "not run: experiment scale-funcs is not available in this build",
		"estimated time: 16s for the steps this build runs",
	} {
		require.Contains(t, buf.String(), want)
	}
}
