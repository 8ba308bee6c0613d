package failover

import (
	"slices"

	"github.com/kdbench/kdbench/plots"
)

// Panels turns rows into the recovery figure's panels: per target (in
// Targets order), one series per system, kind and phase, each point the
// median recovery over the cleanly converged reps at a size with its
// min–max; the None control ("no fault") is drawn in every panel of its
// system. Skipped, violated and failed cases draw nothing.
func Panels(rows []Row) []plots.RecoveryPanel {
	type key struct {
		target Target
		sys    string
		kind   Kind
		phase  Phase
	}
	var keys []key
	vals := map[key]map[int][]float64{}
	for _, r := range rows {
		if r.Status != StatusOK {
			continue
		}
		k := key{r.Target, r.System, r.Kind, r.Phase}
		if vals[k] == nil {
			vals[k] = map[int][]float64{}
			keys = append(keys, k)
		}
		vals[k][r.Size] = append(vals[k][r.Size], float64(r.Recovery())/1e6)
	}
	phases := map[Phase]bool{}
	for _, k := range keys {
		phases[k.phase] = true
	}
	var out []plots.RecoveryPanel
	for _, t := range Targets {
		var panel plots.RecoveryPanel
		systems := map[string]bool{}
		for _, k := range keys {
			if k.target == t {
				systems[k.sys] = true
			}
		}
		for _, k := range keys {
			if k.target != t && !(k.kind == None && systems[k.sys]) {
				continue
			}
			name := k.sys + " " + string(k.kind)
			if k.kind == None {
				name = k.sys + " no fault"
			}
			if len(phases) > 1 {
				name += " (" + string(k.phase) + ")"
			}
			s := plots.Series{Name: name}
			for size, ms := range vals[k] {
				slices.Sort(ms)
				s.Points = append(s.Points, plots.Point{X: float64(size), Y: ms[len(ms)/2], Lo: ms[0], Hi: ms[len(ms)-1]})
			}
			slices.SortFunc(s.Points, func(a, b plots.Point) int { return int(a.X - b.X) })
			panel.Series = append(panel.Series, s)
		}
		if len(panel.Series) > 0 {
			panel.Target = string(t)
			out = append(out, panel)
		}
	}
	return out
}
