package failover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kdbench/kdbench/plots"
)

func TestPanels(t *testing.T) {
	ms := int64(time.Millisecond)
	row := func(sys string, size int, ph Phase, target Target, st Status, rec int64) Row {
		return Row{Case: Case{System: sys, Size: size, Phase: ph, Target: target, Kind: Crash}, Status: st, Injected: 1, Converged: 1 + rec*ms}
	}
	rows := []Row{
		row("kd", 300, Burst, Scheduler, StatusOK, 40),
		row("kd", 100, Burst, Scheduler, StatusOK, 30),
		row("kd", 100, Burst, Scheduler, StatusOK, 10),
		row("kd", 100, Burst, Scheduler, StatusOK, 20),
		row("kd", 100, Burst, ReplicaSet, StatusViolated, 0),
		row("k8s", 100, Burst, Autoscaler, StatusSkipped, 0),
		row("kd", 100, Steady, Scheduler, StatusOK, 5),
		{Case: Case{System: "kd", Size: 100, Phase: Burst, Kind: None}, Status: StatusOK, Injected: 1, Converged: 1 + 7*ms},
		{Case: Case{System: "k8s", Size: 100, Phase: Burst, Kind: None}, Status: StatusOK, Injected: 1, Converged: 1 + 9*ms},
	}
	want := []plots.RecoveryPanel{{Target: "scheduler", Series: []plots.Series{
		{Name: "kd crash (burst)", Points: []plots.Point{{X: 100, Y: 20, Lo: 10, Hi: 30}, {X: 300, Y: 40, Lo: 40, Hi: 40}}},
		{Name: "kd crash (steady)", Points: []plots.Point{{X: 100, Y: 5, Lo: 5, Hi: 5}}},
		{Name: "kd no fault (burst)", Points: []plots.Point{{X: 100, Y: 7, Lo: 7, Hi: 7}}},
	}}}
	assert.Equal(t, want, Panels(rows), "panels in target order; the control in its system's panels; violated and skipped cases draw nothing")
}
