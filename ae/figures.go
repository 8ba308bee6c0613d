package ae

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/plots"
	"github.com/kdbench/kdbench/workloads/failover"
)

// FiguresDir holds the report's figures under the output directory.
const FiguresDir = "figures"

// figureFormats are drawn for every figure; the HTML report embeds the PNG.
var figureFormats = []string{"png", "svg"}

// traceFigures are Figs 12–13: per-function CDFs of two trace metrics for
// each figure's systems.
var traceFigures = []struct {
	name, title string
	systems     []string
}{
	// Real Knative's results and the model's, whichever were measured.
	{"fig12", "Fig 12: Knative on K8s vs on Kd", []string{"kn-k8s", "kn-kd", "kn-model", "kn-model-kd"}},
	{"fig13", "Fig 13: Dirigent vs Dirigent-style front-end on K8s+ and Kd+", []string{"dirigent", "dr-k8s+", "dr-kd+"}},
}

// DrawFigures draws every figure the evidence supports into out/figures and
// returns their names (file names without extension), sorted. What cannot
// be drawn is returned as warnings, not errors: a figure less is no reason
// to lose the report.
func DrawFigures(ev *Evidence, out string) ([]string, []string) {
	dir := filepath.Join(out, FiguresDir)
	var names, warnings []string
	byExp := map[string][]*results.Run{}
	var exps []string
	for _, r := range ev.Runs {
		e := r.Manifest().Experiment
		if _, ok := byExp[e]; !ok {
			exps = append(exps, e)
		}
		byExp[e] = append(byExp[e], r)
	}
	slices.Sort(exps)
	for _, e := range exps {
		if e == failover.Experiment {
			continue // its figures come from recovery.csv, below
		}
		paths, err := plots.Render(byExp[e], plots.Options{OutDir: dir, Formats: figureFormats, Stat: "p90"})
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("figures of %s: %v", e, err))
		}
		for _, p := range paths {
			if strings.HasSuffix(p, ".png") {
				names = append(names, strings.TrimSuffix(filepath.Base(p), ".png"))
			}
		}
	}
	rec, warn := drawRecovery(ev, dir)
	names, warnings = append(names, rec...), append(warnings, warn...)
	names, warnings = drawMicrobench(ev, dir, names, warnings)
	for _, f := range traceFigures {
		computed := map[string]map[metrics.Metric]metrics.PerFunction{}
		for _, sys := range f.systems {
			if src, ok := ev.Traces[sys]; ok {
				computed[sys] = metrics.Compute(ev.Rules, src, ev.TraceWarmupMinutes)
			}
		}
		for _, m := range []struct {
			suffix, xlabel string
			metric         metrics.Metric
		}{
			{"scheduling-latency", "per-function mean scheduling latency (ms)", metrics.SchedulingLatency},
			{"slowdown", "per-function " + ev.Rules.SlowdownMean() + " slowdown", metrics.Slowdown},
		} {
			var samples []plots.Sample
			for _, sys := range f.systems {
				c, ok := computed[sys]
				if !ok {
					continue
				}
				var vals []float64
				for _, v := range c[m.metric].Values() {
					if v > 0 { // the axis is logarithmic
						vals = append(vals, v)
					}
				}
				if len(vals) > 0 {
					samples = append(samples, plots.Sample{Name: sys, Values: vals})
				}
			}
			if len(samples) == 0 {
				continue
			}
			name := f.name + "-" + m.suffix
			p, err := plots.CDF(f.title+" ("+ev.Rules.Name+" rules)", m.xlabel, samples, true)
			if err == nil {
				_, err = plots.Save(p, dir, name, figureFormats, 0, 0)
			}
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("figure %s: %v", name, err))
				continue
			}
			names = append(names, name)
		}
	}
	slices.SortFunc(names, compareFigures)
	return names, warnings
}

// drawRecovery draws the failover panels, one per target, from every
// failover run's recovery.csv.
func drawRecovery(ev *Evidence, dir string) (names, warnings []string) {
	bySys, warnings := ev.failoverRows()
	var rows []failover.Row
	for _, sys := range Systems {
		rows = append(rows, bySys[sys]...)
	}
	if len(rows) == 0 {
		return nil, warnings
	}
	figs, err := plots.RecoveryFigures(failover.Panels(rows))
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("failover figures: %v", err))
	}
	for _, f := range figs {
		if _, err := plots.Save(f.Plot, dir, f.Name, figureFormats, 0, 0); err != nil {
			warnings = append(warnings, fmt.Sprintf("figure %s: %v", f.Name, err))
			continue
		}
		names = append(names, f.Name)
	}
	return names, warnings
}

// compareFigures orders figure names as the paper numbers them: fig9
// before fig10, then by name.
func compareFigures(a, b string) int {
	num := func(s string) int {
		n := 0
		rest, ok := strings.CutPrefix(s, "fig")
		for ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			n, rest = 10*n+int(rest[0]-'0'), rest[1:]
		}
		if n == 0 {
			return 1 << 30
		}
		return n
	}
	return cmp.Or(cmp.Compare(num(a), num(b)), strings.Compare(a, b))
}

// microbenchFigures are the artifact's microbenchmarks as kdbench names
// their figures.
var microbenchFigures = map[string]string{"scale-pods": "fig9-scale-pods", "scale-funcs": "fig10-scale-funcs", "scale-nodes": "fig11-scale-nodes"}

// drawMicrobench draws Figs 9–11 from the artifact's e2e totals, for the
// experiments no kdbench results directory drew, and beside them the
// artifact's per-controller microbenchmarks (_rs, _sched, _runtime, _as,
// _dp: separate runs, not a split of the e2e burst) as <fig>-controllers.
func drawMicrobench(ev *Evidence, dir string, names, warnings []string) ([]string, []string) {
	for exp, groups := range ev.microbenchFigures() {
		name := microbenchFigures[exp]
		if name == "" || slices.Contains(names, name) {
			continue
		}
		for _, fig := range []struct {
			name, ylabel string
			ms           []Microbench
		}{
			{name, "e2e p90 of first Ready (s), index floor(0.9n)", groups.e2e},
			{name + "-controllers", "the artifact's total (s)", groups.controllers},
		} {
			if len(fig.ms) == 0 {
				continue
			}
			bars := make([]plots.Bar, len(fig.ms))
			for i, m := range fig.ms {
				label := fmt.Sprintf("%s %d", m.Baseline, m.Scale)
				if m.Kind != "e2e" {
					label = strings.TrimPrefix(m.Kind, "_") + " " + label
				}
				bars[i] = plots.Bar{Label: label, Segments: []float64{float64(m.TotalUs) / 1e6}}
			}
			p, err := plots.StackedBars(exp+" (the artifact's logs)", fig.ylabel, []string{"total"}, bars)
			if err == nil {
				_, err = plots.Save(p, dir, fig.name, figureFormats, 0, 0)
			}
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("figure %s: %v", fig.name, err))
				continue
			}
			names = append(names, fig.name)
		}
	}
	return names, warnings
}
