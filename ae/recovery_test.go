package ae

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/failover"
)

// recoveryCase is a scripted failover case: its recovery time, or a
// violation when bad.
type recoveryCase struct {
	size   int
	target failover.Target
	kind   failover.Kind
	ms     int64
	bad    bool
	// resync: the restarted hop ready again, ms after the crash (0: none).
	resync int64
}

// writeFailoverRun writes a failover run of one system under root: its
// manifest, recovery.csv (three repetitions per case, ±10 %) and summary.
func writeFailoverRun(t *testing.T, root, system string, cases ...recoveryCase) *results.Run {
	t.Helper()
	sizes := []int{}
	for _, c := range cases {
		if len(sizes) == 0 || sizes[len(sizes)-1] != c.size {
			sizes = append(sizes, c.size)
		}
	}
	r, err := results.Create(root, results.Manifest{Experiment: failover.Experiment, SizeUnit: "pods",
		Systems: []string{system}, Sizes: sizes, Reps: 3, Start: fixtureStart, Kdbench: fixtureBuild, Machine: fixtureMachine})
	require.NoError(t, err)
	log, err := failover.OpenLog(r.Path(failover.RecoveryFile))
	require.NoError(t, err)
	var rows []failover.Row
	for _, c := range cases {
		for rep := range 3 {
			inj := fixtureStart.UnixNano()
			row := failover.Row{Case: failover.Case{System: system, Size: c.size, Phase: failover.Burst, Target: c.target, Kind: c.kind, Rep: rep},
				Status: failover.StatusOK, Injected: inj, Recovered: inj + int64(time.Millisecond),
				Converged: inj + c.ms*int64(time.Millisecond)*int64(9+rep)/10}
			if c.resync > 0 {
				row.Resynced = inj + c.resync*int64(time.Millisecond)
			}
			if c.bad {
				row.Status = failover.StatusViolated
				row.Violations = []failover.Violation{{Kind: "resurrected", Detail: "pod p1 came back"}}
			}
			require.NoError(t, log.Append(row))
			rows = append(rows, row)
		}
	}
	require.NoError(t, log.Close())
	require.NoError(t, r.Finish(nil, failover.Summary(rows)...))
	return r
}

func TestFailoverClaim(t *testing.T) {
	crash := func(size int, ms int64) recoveryCase {
		return recoveryCase{size: size, target: failover.ReplicaSet, kind: failover.Crash, ms: ms}
	}
	control := func(size int, ms int64) recoveryCase {
		return recoveryCase{size: size, kind: failover.None, ms: ms}
	}
	resynced := func(c recoveryCase, ms int64) recoveryCase { c.resync = ms; return c }
	tests := []struct {
		name     string
		runs     map[string][]recoveryCase
		verdict  Verdict
		reason   string
		measured string
	}{
		{"kd+ recovers cleanly and scales, k8s+ beside it",
			map[string][]recoveryCase{
				"kd+":  {control(50, 300), crash(50, 800), control(100, 400), crash(100, 1000)},
				"k8s+": {crash(50, 3000), crash(100, 9000)},
			},
			Reproduced, "grows at most 2× (+100 ms) from 50 to 100 pods",
			"kd+: 6/6 crash cases converged"},
		{"recovery grows with the remaining work, its cost over no-fault does not",
			map[string][]recoveryCase{"kd+": {control(50, 300), resynced(crash(50, 800), 100), control(100, 1300), resynced(crash(100, 1800), 120)}},
			Reproduced, "the median crash cost (recovery over no-fault, resync) grows at most 2×",
			"over no-fault +500→+500 ms, resync 100→120 ms"},
		{"the cost over no-fault grows",
			map[string][]recoveryCase{"kd+": {control(50, 300), crash(50, 500), control(100, 300), crash(100, 1000)}},
			NotReproduced, "recovery over no-fault grows +200→+700 ms", "over no-fault +200→+700 ms"},
		{"resync grows",
			map[string][]recoveryCase{"kd+": {control(50, 300), resynced(crash(50, 500), 100), control(100, 300), resynced(crash(100, 500), 400)}},
			NotReproduced, "resync grows 100→400 ms", "resync 100→400 ms"},
		{"a crash case breaks an invariant",
			map[string][]recoveryCase{"kd+": {crash(50, 800), {size: 100, target: failover.Scheduler, kind: failover.Crash, ms: 900, bad: true}}},
			NotReproduced, "3 crash cases of kd+ did not recover cleanly, first kd+/100/burst/crash-scheduler/rep0 violated: resurrected: pod p1 came back",
			"kd+: 3/6 crash cases converged"},
		{"recovery grows with size",
			map[string][]recoveryCase{"kd+": {crash(50, 500), crash(100, 1500)}},
			NotReproduced, "burst/replicaset grows 3.00×", "500→1500 ms (3.00×)"},
		{"kd when kd+ did not run",
			map[string][]recoveryCase{"kd": {crash(50, 500), crash(100, 600)}},
			Reproduced, "every kd crash case converged", "kd: 6/6"},
		{"one size cannot show scaling",
			map[string][]recoveryCase{"kd+": {crash(50, 500)}},
			NotRun, "only one size was measured", "kd+: 3/3"},
		{"only the control system",
			map[string][]recoveryCase{"k8s+": {crash(50, 500), crash(100, 600)}},
			NotRun, "no failover crash case of kd+ or kd", ""},
		{"only no-fault cases",
			map[string][]recoveryCase{"kd+": {control(50, 500), control(100, 600)}},
			NotRun, "no failover crash case of kd+ or kd", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for sys, cases := range tt.runs {
				writeFailoverRun(t, filepath.Join(root, sys), sys, cases...)
			}
			ev, err := EvidenceFromDir(root)
			require.NoError(t, err)
			out := evaluate(t, "failure-recovery", ev)
			require.Equal(t, tt.verdict, out.Verdict, "%+v", out)
			require.Contains(t, out.Reason, tt.reason)
			require.Contains(t, out.Measured, tt.measured)
		})
	}
}
