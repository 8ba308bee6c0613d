package failover

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
