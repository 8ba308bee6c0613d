package replay

import (
	"fmt"
	"path/filepath"

	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/plots"
)

// DrawFigures draws a run directory's result CSVs as CDFs on a log x axis of
// per-function scheduling latency and slowdown, one line per system, into
// dir/figures/azure-trace-*. They are named after the experiment, not a
// figure of the paper: with kn-k8s and kn-kd (or kn-model and kn-model-kd,
// kdbench's model of Knative's front-end) they are its Fig 12, with
// dirigent, dr-k8s+ and dr-kd+ its Fig 13. Non-positive values cannot sit on a log
// axis and are left out (with their count in the legend).
func DrawFigures(dir string, sums []Summary, formats []string) ([]string, error) {
	var lat, slow []plots.Sample
	rules := metrics.Artifact
	for _, s := range sums {
		r, err := metrics.ByName(s.Rules)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, s.ResultCSV), err)
		}
		rules = r
		src := &metrics.Source{System: s.System}
		if err := src.Add(filepath.Join(dir, s.ResultCSV)); err != nil {
			return nil, err
		}
		m := metrics.Compute(rules, src, s.WarmupMinutes)
		lat = append(lat, positive(s.System, m[metrics.SchedulingLatency].Values()))
		slow = append(slow, positive(s.System, m[metrics.Slowdown].Values()))
	}
	var paths []string
	for _, fig := range []struct {
		name, title, xlabel string
		samples             []plots.Sample
	}{
		{ExperimentName + "-scheduling-latency", "Per-function scheduling latency", "mean scheduling latency per function (ms)", lat},
		{ExperimentName + "-slowdown", "Per-function slowdown", rules.SlowdownMean() + " slowdown per function (" + rules.Name + " rules)", slow},
	} {
		p, err := plots.CDF(fig.title, fig.xlabel, fig.samples, true)
		if err != nil {
			return paths, err
		}
		written, err := plots.Save(p, filepath.Join(dir, "figures"), fig.name, formats, 0, 0)
		paths = append(paths, written...)
		if err != nil {
			return paths, err
		}
	}
	return paths, nil
}

func positive(name string, vs []float64) plots.Sample {
	out := vs[:0:0]
	for _, v := range vs {
		if v > 0 {
			out = append(out, v)
		}
	}
	if dropped := len(vs) - len(out); dropped > 0 {
		name = fmt.Sprintf("%s (%d ≤ 0 left out)", name, dropped)
	}
	return plots.Sample{Name: name, Values: out}
}
