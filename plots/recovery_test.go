package plots

import (
	"testing"
)

func TestRecoveryFigureGolden(t *testing.T) {
	pt := func(x, y, lo, hi float64) Point { return Point{X: x, Y: y, Lo: lo, Hi: hi} }
	panels := []RecoveryPanel{
		{Target: "replicaset", Series: []Series{
			{Name: "kd crash", Points: []Point{pt(100, 420, 380, 510), pt(300, 450, 400, 520)}},
			{Name: "kd cut", Points: []Point{pt(100, 2100, 2050, 2200), pt(300, 2150, 2080, 2300)}},
			{Name: "k8s crash", Points: []Point{pt(100, 3900, 3500, 4200), pt(300, 7900, 7000, 8800)}},
		}},
		{Target: "gateway", Series: []Series{{Name: "kd crash", Points: []Point{pt(100, 1, 1, 1)}}}},
	}
	figs, err := RecoveryFigures(panels)
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Name != "failover-replicaset" || figs[1].Name != "failover-gateway" {
		t.Fatalf("figures %+v", figs)
	}
	if got := figs[0].Plot.Title.Text; got != "Failure recovery: ReplicaSet controller" {
		t.Errorf("title %q", got)
	}
	if got := figs[1].Plot.Title.Text; got != "Failure recovery: gateway" {
		t.Errorf("unknown target's title %q", got)
	}
	checkGolden(t, figs[0].Plot, "failover-replicaset")

	if _, err := RecoveryFigures([]RecoveryPanel{{Target: "scheduler"}}); err == nil {
		t.Error("a panel without series must be an error")
	}
}
