package ae

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/metrics"
)

// Microbench is one of the artifact's microbenchmark logs and its total.
type Microbench struct {
	metrics.MicrobenchFile
	// TotalUs is its "total: <N> us" (metrics.TotalRule).
	TotalUs int64
}

func (ev *Evidence) addMicrobench(f metrics.MicrobenchFile) {
	us, err := metrics.ReadTotal(f.Path)
	if err != nil {
		ev.Warnings = append(ev.Warnings, err.Error())
		return
	}
	for _, m := range ev.Microbench {
		if m.Experiment == f.Experiment && m.Kind == f.Kind && m.Baseline == f.Baseline && m.Scale == f.Scale {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("%s: left out; %s %s.%s.%d is taken from %s (the artifact's plot.py reads one run)",
				f.Path, f.Experiment, f.Kind, f.Baseline, f.Scale, m.Path))
			return
		}
	}
	ev.Microbench = append(ev.Microbench, Microbench{MicrobenchFile: f, TotalUs: us})
}

// artifactE2E returns the artifact's e2e totals of system in experiment,
// in ms (the unit of kdbench's e2e p90), one value per scale.
func (ev *Evidence) artifactE2E(experiment, system string) map[sizeKey][]float64 {
	out := map[sizeKey][]float64{}
	for _, m := range ev.Microbench {
		if m.Kind == "e2e" && m.Experiment == experiment && m.Baseline == system {
			out[sizeKey{size: m.Scale}] = []float64{float64(m.TotalUs) / 1000}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// microbenchGroups are one experiment's artifact logs, in bar order.
type microbenchGroups struct{ e2e, controllers []Microbench }

// microbenchFigures groups the artifact's totals per experiment for the
// figures: e2e bars by scale then system, controller bars by kind, system,
// scale.
func (ev *Evidence) microbenchFigures() map[string]*microbenchGroups {
	out := map[string]*microbenchGroups{}
	for _, m := range ev.Microbench {
		g := out[m.Experiment]
		if g == nil {
			g = &microbenchGroups{}
			out[m.Experiment] = g
		}
		if m.Kind == "e2e" {
			g.e2e = append(g.e2e, m)
		} else {
			g.controllers = append(g.controllers, m)
		}
	}
	order := []string{"k8s", "k8s+", "kd", "kd+"}
	for _, g := range out {
		slices.SortFunc(g.e2e, func(a, b Microbench) int {
			if a.Scale != b.Scale {
				return a.Scale - b.Scale
			}
			return slices.Index(order, a.Baseline) - slices.Index(order, b.Baseline)
		})
		slices.SortFunc(g.controllers, func(a, b Microbench) int {
			return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Baseline, b.Baseline), a.Scale-b.Scale)
		})
	}
	return out
}
