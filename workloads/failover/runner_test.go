package failover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
)

// fakeExec scripts sessions: kd has no autoscaler crash; cases listed in
// violate break an invariant; the run is "killed" (ctx cancelled) when the
// killAfter-th case starts.
type fakeExec struct {
	calls     []Case
	opened    []string
	closed    int
	violate   map[Case]bool
	killAfter int
	cancel    context.CancelFunc
	// params are recorded in the manifest; restored is what a resume gave back.
	params, restored map[string]string
	// perSize asks for a session per system and size.
	perSize bool
}

func (e *fakeExec) PerSize() bool { return e.perSize }

func (e *fakeExec) Params() map[string]string { return e.params }
func (e *fakeExec) SetParams(p map[string]string) error {
	e.restored = p
	return nil
}

type fakeSession struct {
	e   *fakeExec
	sys string
}

func (e *fakeExec) Open(_ context.Context, sys string, sizes []int) (Session, error) {
	e.opened = append(e.opened, fmt.Sprintf("%s %v", sys, sizes))
	return &fakeSession{e, sys}, nil
}

func (s *fakeSession) Supports(c Case) error {
	if s.sys == "k8s" && c.Kind == Cut {
		return errors.New("k8s has no Kubedirect links")
	}
	return nil
}

func (s *fakeSession) Run(ctx context.Context, c Case) (Row, error) {
	s.e.calls = append(s.e.calls, c)
	if s.e.killAfter > 0 && len(s.e.calls) == s.e.killAfter {
		s.e.cancel()
		return Row{}, ctx.Err()
	}
	inj := int64(1e9 * (len(s.e.calls)))
	r := Row{Injected: inj, Converged: inj + int64(c.Size)*int64(time.Millisecond)}
	r.Pods = []results.PodRecord{{System: c.System, Size: c.Size, Rep: c.Rep, Namespace: "ns", Function: "fn", Pod: "fn-1",
		Node: "n1", BurstStart: inj, Created: inj + 1, Ready: inj + 2}}
	if s.e.violate[c] {
		r.Violations = []Violation{{Resurrection, "pod x (uid 1) added again after its deletion"}}
	}
	return r, nil
}

func (s *fakeSession) Close(context.Context) error { s.e.closed++; return nil }

func config(root string, e Executor) Config {
	return Config{Systems: []string{"kd", "k8s"}, Sizes: []int{10, 30}, Phases: []Phase{Burst},
		Targets: []Target{ReplicaSet, Scheduler}, Kinds: []Kind{Crash, Cut}, Reps: 2, ResultsRoot: root, Executor: e}
}

func TestRunSequencesSkipsAndRecords(t *testing.T) {
	e := &fakeExec{violate: map[Case]bool{{System: "kd", Size: 30, Phase: Burst, Target: Scheduler, Kind: Crash, Rep: 1}: true}}
	run, rows, err := Run(context.Background(), config(t.TempDir(), e))
	require.ErrorIs(t, err, ErrViolations)
	assert.Equal(t, []string{"kd [10 30]", "k8s [10 30]"}, e.opened, "one session per system, for every size")
	assert.Equal(t, 2, e.closed)
	require.Len(t, rows, 2*2*2*2*2)
	assert.Len(t, e.calls, 16+8, "k8s's cut cases are skipped, not run")
	count := map[Status]int{}
	for _, r := range rows {
		count[r.Status]++
		if r.Status == StatusOK {
			assert.Equal(t, time.Duration(r.Size)*time.Millisecond, r.Recovery(), r.Case)
		}
	}
	assert.Equal(t, map[Status]int{StatusOK: 23, StatusViolated: 1, StatusSkipped: 8}, count)

	f, err := os.Open(run.Path(RecoveryFile))
	require.NoError(t, err)
	defer f.Close()
	back, err := ReadRows(f)
	require.NoError(t, err)
	assert.Equal(t, rows, back, "recovery.csv round-trips")

	// Each case that ran wrote its pods beside recovery.csv.
	for _, r := range rows {
		pods, err := results.ReadPodsFile(run.Path(r.PodsFile()))
		if r.Status == StatusSkipped {
			require.Error(t, err, r.Case)
			continue
		}
		require.NoError(t, err, r.Case)
		require.Len(t, pods, 1)
		assert.Equal(t, "n1", pods[0].Node, r.Case)
		assert.Equal(t, r.Size, pods[0].Size, r.Case)
	}

	reopened, err := results.Open(run.Dir)
	require.NoError(t, err)
	assert.Equal(t, results.RunFailed, reopened.Manifest().Status)
	pd, err := reopened.Summary()
	require.NoError(t, err)
	assert.Len(t, pd.DataItems, 2*2*2+2*2*1, "one item per system, size, target and kind that ran")
}

// TestResumeAfterKill: a run killed mid-case (here: its context cancelled,
// as by kill -9 the row under way is never written) resumes from its
// directory, runs only the cases without a row, and loses none.
func TestResumeAfterKill(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	e := &fakeExec{killAfter: 7, cancel: cancel, params: map[string]string{"nodes": "10"}}
	run, rows, err := Run(ctx, config(root, e))
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, rows, 6, "the six finished cases are on disk")
	first := e.calls[:6]

	e2 := &fakeExec{params: map[string]string{"nodes": "80"}}
	cfg := config("", e2)
	cfg.Resume = run.Dir
	cfg.Sizes = []int{999} // ignored: the manifest's plan wins
	_, rows2, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, "10", e2.restored["nodes"], "the resumed run keeps the first run's settings")
	assert.Len(t, rows2, 32)
	assert.Len(t, e2.calls, 24-6, "only the unfinished cases run again")
	for _, c := range first {
		assert.NotContains(t, e2.calls, c)
	}
	seen := map[Case]bool{}
	for _, r := range rows2 {
		assert.False(t, seen[r.Case], "case %s twice", r.Case)
		seen[r.Case] = true
	}

	_, _, err = Run(context.Background(), cfg)
	require.ErrorContains(t, err, "complete", "a finished run is not resumed")

	other, err := results.Create(root, results.Manifest{Experiment: "scale-pods", Systems: []string{"kd"}, Sizes: []int{10}, Reps: 1})
	require.NoError(t, err)
	cfg.Resume = other.Dir
	_, _, err = Run(context.Background(), cfg)
	require.ErrorContains(t, err, "a scale-pods run, not failover")
	reopened, err := results.Open(other.Dir)
	require.NoError(t, err)
	assert.True(t, reopened.Crashed(), "another experiment's run is left as it was")
}

func TestOpenLogDropsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), RecoveryFile)
	l, err := OpenLog(path)
	require.NoError(t, err)
	r := Row{Case: Case{"kd", 10, Steady, NodeAgent, Stall, 0}, Status: StatusViolated, Injected: 5, Converged: 0,
		Violations: []Violation{{Leak, "1 pods left after scaling to 0: fn-x"}, {Short, "9 Ready"}}}
	require.NoError(t, l.Append(r))
	require.NoError(t, l.Close())
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprint(f, "kd,10,steady,scheduler,cr") // killed mid-write
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l, err = OpenLog(path)
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, []Row{r}, l.Rows())
	assert.True(t, l.Done(r.Case))
	assert.Zero(t, r.Recovery(), "never converged")
}

func TestParseLists(t *testing.T) {
	ts, err := ParseTargets([]string{"replicaset", " scheduler"})
	require.NoError(t, err)
	assert.Equal(t, []Target{ReplicaSet, Scheduler}, ts)
	_, err = ParseKinds([]string{"crash", "crash"})
	assert.ErrorContains(t, err, "twice")
	_, err = ParsePhases([]string{"warm"})
	assert.ErrorContains(t, err, "known: burst, steady")
}

// TestRecoveryCSVGolden pins recovery.csv's format: a header and one line
// per case, violations joined with "; ".
func TestRecoveryCSVGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), RecoveryFile)
	l, err := OpenLog(path)
	require.NoError(t, err)
	for _, r := range []Row{
		{Case: Case{"kd", 100, Burst, ReplicaSet, Crash, 0}, Status: StatusOK,
			Injected: 1_700_000_000_000_000_000, Recovered: 1_700_000_000_250_000_000, Converged: 1_700_000_000_412_345_678,
			Resynced: 1_700_000_000_120_000_000},
		{Case: Case{"kd+", 300, Steady, Scheduler, Cut, 1}, Status: StatusViolated, Injected: 1_700_000_010_000_000_000,
			Recovered: 1_700_000_012_000_000_000, Violations: []Violation{
				{Timeout, "not converged to 150 Ready pods within 1m0s"}, {Short, "149 pods, 149 Ready, 0 terminating, want 150 Ready"},
				{Resurrection, `pod fn-abc, "quoted" (uid 7) added again after its deletion`}}},
		{Case: Case{"k8s", 100, Burst, Autoscaler, Crash, 0}, Status: StatusSkipped, Detail: "k8s: the autoscaler writes scales through the API server; it has no process to crash"},
	} {
		require.NoError(t, l.Append(r))
	}
	require.NoError(t, l.Close())
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join("testdata", "recovery.golden.csv"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

// TestRecoveryCSVBeforeResync: a recovery.csv written before resync was
// recorded still reads, and a resumed run appends to it in its format.
func TestRecoveryCSVBeforeResync(t *testing.T) {
	path := filepath.Join(t.TempDir(), RecoveryFile)
	old := strings.Join(headerV1, ",") + "\nkd,100,burst,replicaset,crash,0,ok,1,2,3,0.000,,\n"
	require.NoError(t, os.WriteFile(path, []byte(old), 0o644))
	l, err := OpenLog(path)
	require.NoError(t, err)
	require.Len(t, l.Rows(), 1)
	require.Zero(t, l.Rows()[0].Resynced)
	require.NoError(t, l.Append(Row{Case: Case{"kd", 300, Burst, ReplicaSet, Crash, 0}, Status: StatusOK, Injected: 1, Converged: 5, Resynced: 4}))
	require.NoError(t, l.Close())
	l, err = OpenLog(path)
	require.NoError(t, err, "one width throughout")
	require.Len(t, l.Rows(), 2)
	require.NoError(t, l.Close())
}

func TestPlanRunsTheControlOncePerPhase(t *testing.T) {
	cases := Plan([]string{"kd"}, []int{10}, []Phase{Burst, Steady}, []Target{ReplicaSet, Scheduler}, []Kind{Crash, None}, 1)
	var got []string
	for _, c := range cases {
		got = append(got, c.String())
	}
	assert.Equal(t, []string{
		"kd/10/burst/no-fault/rep0", "kd/10/burst/crash-replicaset/rep0", "kd/10/burst/crash-scheduler/rep0",
		"kd/10/steady/no-fault/rep0", "kd/10/steady/crash-replicaset/rep0", "kd/10/steady/crash-scheduler/rep0",
	}, got)
	f, err := injector(struct{}{}, struct{}{}, site{}, cases[0])
	require.NoError(t, err, "every system has the control")
	assert.Equal(t, "no fault", f.String())
}

// An executor whose cluster follows the size gets a session per system and
// size, each for its own cases only.
func TestRunPerSizeSessions(t *testing.T) {
	e := &fakeExec{perSize: true}
	_, rows, err := Run(context.Background(), config(t.TempDir(), e))
	require.NoError(t, err)
	assert.Equal(t, []string{"kd [10]", "kd [30]", "k8s [10]", "k8s [30]"}, e.opened)
	assert.Equal(t, 4, e.closed)
	assert.Len(t, rows, 32)
}

func TestClusterExecutorNodes(t *testing.T) {
	for _, c := range []struct {
		perNode int
		sizes   []int
		want    int
	}{
		{0, []int{100, 300}, 20},
		{10, []int{100}, 10},
		{10, []int{301}, 31},
		{50, []int{2}, 1},
		{10, []int{100, 300}, 30},
	} {
		e := &ClusterExecutor{Base: clusters.Spec{Nodes: 20}, PodsPerNode: c.perNode}
		assert.Equal(t, c.want, e.nodes(c.sizes), "%d pods per node, sizes %v", c.perNode, c.sizes)
		assert.Equal(t, c.perNode > 0, e.PerSize())
	}
	e := &ClusterExecutor{PodsPerNode: 10}
	restored := &ClusterExecutor{}
	require.NoError(t, restored.SetParams(e.Params()))
	assert.Equal(t, 10, restored.PodsPerNode, "a resumed run keeps the scaling")
}

func TestCasePodsFile(t *testing.T) {
	for _, tc := range []struct {
		c    Case
		want string
	}{
		{Case{System: "kd+", Size: 100, Phase: Burst, Target: ReplicaSet, Kind: Crash, Rep: 0}, "kd-plus_100_burst_crash-replicaset_rep0_pods.csv"},
		{Case{System: "k8s", Size: 30, Phase: Steady, Kind: None, Rep: 2}, "k8s_30_steady_no-fault_rep2_pods.csv"},
	} {
		assert.Equal(t, tc.want, tc.c.PodsFile())
	}
}
