package ae

import (
	"slices"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
)

// FloorRow is one system at one size set over the floor its own run
// measured (results.FloorSystem): the e2e p90 of both and system/floor.
type FloorRow struct {
	Experiment string
	results.Ratio
}

// overFloor collects, from every burst run that measured the floor, each
// system over it, in run order.
func overFloor(ev *Evidence, boot stats.BootstrapOptions) []FloorRow {
	var out []FloorRow
	for _, r := range ev.Runs {
		m := r.Manifest()
		if !slices.Contains(m.Systems, results.FloorSystem) {
			continue
		}
		rows, err := results.OverFloor(r, results.Metric{Name: "e2e", Key: results.KeyPerc90}, boot)
		if err != nil {
			continue // a run with only the floor, or a failed one: nothing to set over it
		}
		for _, row := range rows {
			out = append(out, FloorRow{Experiment: m.Experiment, Ratio: row})
		}
	}
	return out
}
