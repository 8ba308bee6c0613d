package failover

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

func TestWriteTable(t *testing.T) {
	ms := int64(time.Millisecond)
	row := func(sys string, size int, target Target, kind Kind, rep int, st Status, rec int64) Row {
		return Row{Case: Case{sys, size, Burst, target, kind, rep}, Status: st, Injected: 1, Converged: 1 + rec*ms}
	}
	rows := []Row{
		row("kd", 100, ReplicaSet, Crash, 0, StatusOK, 300),
		row("kd", 100, ReplicaSet, Crash, 1, StatusOK, 100),
		row("kd", 100, ReplicaSet, Crash, 2, StatusOK, 200),
		row("kd", 300, ReplicaSet, Crash, 0, StatusViolated, 0),
		row("kd", 300, ReplicaSet, Crash, 1, StatusOK, 250),
		row("k8s", 300, Scheduler, Cut, 0, StatusSkipped, 0),
		row("k8s", 100, Scheduler, Cut, 0, StatusSkipped, 0),
		row("kd", 100, "", None, 0, StatusOK, 150),
	}
	var b strings.Builder
	require.NoError(t, WriteTable(&b, rows))
	want := `SYSTEM  PHASE  TARGET      KIND   100 PODS     300 PODS
kd      burst  replicaset  crash  200ms (n=3)  250ms [1/2 violated or failed]
k8s     burst  scheduler   cut    skipped      skipped
kd      burst  -           none   150ms        -
`
	assert.Equal(t, want, b.String())
}

func TestWriteCostTable(t *testing.T) {
	ms := int64(time.Millisecond)
	row := func(size int, target Target, kind Kind, rep int, st Status, rec, resync int64) Row {
		r := Row{Case: Case{"kd", size, Burst, target, kind, rep}, Status: st, Injected: 1, Converged: 1 + rec*ms}
		if resync > 0 {
			r.Resynced = 1 + resync*ms
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		rows   []Row
		golden string
	}{
		{"controls per size, reps, a violation, a negative excess", []Row{
			row(100, "", None, 0, StatusOK, 400, 0),
			row(100, "", None, 1, StatusOK, 600, 0),
			row(100, "", None, 2, StatusOK, 500, 0),
			row(100, ReplicaSet, Crash, 0, StatusOK, 700, 120),
			row(100, ReplicaSet, Crash, 1, StatusOK, 650, 100),
			row(300, "", None, 0, StatusOK, 900, 0),
			row(300, ReplicaSet, Crash, 0, StatusOK, 850, 140),
			row(300, ReplicaSet, Crash, 1, StatusViolated, 0, 0),
			row(100, Scheduler, Cut, 0, StatusOK, 800, 0),
		}, "cost.golden.txt"},
		{"no control: no excess", []Row{row(100, ReplicaSet, Crash, 0, StatusOK, 700, 120)}, "cost-nocontrol.golden.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			require.NoError(t, WriteCostTable(&b, tc.rows))
			path := filepath.Join("testdata", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), b.String())
		})
	}
}
