package plots

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
)

// Options controls Render.
type Options struct {
	// OutDir receives the figures.
	OutDir string
	// Formats to write (default png and svg).
	Formats []string
	// Stat is the per-repetition percentile shown: p50, p90 (default), p99 or max.
	Stat          string
	Width, Height vg.Length
	Boot          stats.BootstrapOptions
}

// Figure is a drawn figure and the file name (without extension) it gets.
type Figure struct {
	Name string
	Plot *plot.Plot
}

type figureSpec struct{ name, title, xlabel string }

// burstFigures maps an experiment to its figure in the Kubedirect paper.
// Other experiments with burst measurements get a generic figure named
// after them, with the manifest's size unit on the x axis.
var burstFigures = map[string]figureSpec{
	"scale-pods":  {"fig9-scale-pods", "Fig 9: one function scaled 0 → N pods", "burst size (pods)"},
	"scale-funcs": {"fig10-scale-funcs", "Fig 10: N functions scaled 0 → 1", "number of functions"},
	"scale-nodes": {"fig11-scale-nodes", "Fig 11: 5 pods per node on N nodes", "number of nodes"},
}

func specFor(m results.Manifest) figureSpec {
	if s, ok := burstFigures[m.Experiment]; ok {
		return s
	}
	unit := m.SizeUnit
	if unit == "" {
		unit = "size"
	}
	return figureSpec{m.Experiment + "-e2e", m.Experiment, unit}
}

// seriesKey is one line of a figure: a system under a profile, from a run.
type seriesKey struct {
	system, profile string
	run             int
}

// BurstFigures draws, per experiment among runs, the e2e latency figure
// (one line per system, error bars from bootstrap intervals over
// repetitions) and the stacked per-stage breakdown. Runs of the same
// experiment share figures; a system measured in several runs gets one line
// per run, labelled with the run's directory.
func BurstFigures(runs []*results.Run, opts Options) ([]Figure, error) {
	stat := opts.Stat
	if stat == "" {
		stat = "p90"
	}
	e2e, err := results.ParseMetric("e2e_" + stat)
	if err != nil {
		return nil, err
	}
	var experiments []string
	byExp := map[string][]int{}
	for i, r := range runs {
		exp := r.Manifest().Experiment
		if _, ok := byExp[exp]; !ok {
			experiments = append(experiments, exp)
		}
		byExp[exp] = append(byExp[exp], i)
	}
	var figs []Figure
	for _, exp := range experiments {
		idx := byExp[exp]
		spec := specFor(runs[idx[0]].Manifest())
		est := map[seriesKey][]results.Estimate{}
		var keys []seriesKey
		bdRun := map[seriesKey]map[string]map[results.Config]float64{} // stage → config → median
		for _, i := range idx {
			pd, err := runs[i].Summary()
			if err != nil {
				return nil, err
			}
			es, err := pd.Estimates(e2e, opts.Boot)
			if err != nil {
				return nil, fmt.Errorf("plots: %s: %w", runs[i].Dir, err)
			}
			for _, e := range es {
				k := seriesKey{e.System, e.QPSProfile, i}
				if _, ok := est[k]; !ok {
					keys = append(keys, k)
					bdRun[k] = map[string]map[results.Config]float64{}
				}
				est[k] = append(est[k], e)
			}
			for _, stage := range results.BreakdownStages {
				m := results.Metric{Name: results.BreakdownPrefix + stage, Key: e2e.Key}
				bs, err := pd.Estimates(m, opts.Boot)
				if err != nil {
					continue // a run without breakdown items still gets its e2e figure
				}
				for _, b := range bs {
					k := seriesKey{b.System, b.QPSProfile, i}
					if bdRun[k] == nil {
						continue
					}
					if bdRun[k][stage] == nil {
						bdRun[k][stage] = map[results.Config]float64{}
					}
					bdRun[k][stage][b.Config] = b.Median.Point
				}
			}
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("plots: experiment %s: no successful measured repetitions to plot", exp)
		}
		names := seriesNames(keys, runs)

		var series []Series
		for _, k := range keys {
			s := Series{Name: names[k]}
			for _, e := range est[k] {
				s.Points = append(s.Points, Point{X: float64(e.Size), Y: e.Median.Point, Lo: e.Median.Lo, Hi: e.Median.Hi})
			}
			series = append(series, s)
		}
		p, err := LatencyVsX(spec.title, spec.xlabel, fmt.Sprintf("end-to-end latency, %s over pods (ms)", stat), series)
		if err != nil {
			return nil, err
		}
		figs = append(figs, Figure{Name: spec.name, Plot: p})

		var bars []Bar
		for _, k := range keys {
			for _, e := range est[k] {
				segs := make([]float64, len(results.BreakdownStages))
				complete := true
				for s, stage := range results.BreakdownStages {
					v, ok := bdRun[k][stage][e.Config]
					if !ok {
						complete = false
						break
					}
					segs[s] = v
				}
				if complete {
					bars = append(bars, Bar{Label: fmt.Sprintf("%s %d", names[k], e.Size), Segments: segs})
				}
			}
		}
		if len(bars) > 0 {
			title := fmt.Sprintf("%s: per-stage breakdown", spec.title)
			bp, err := StackedBars(title, fmt.Sprintf("time until %s of pods passed the stage (ms)", stat), results.BreakdownStages, bars)
			if err != nil {
				return nil, err
			}
			figs = append(figs, Figure{Name: spec.name + "-breakdown", Plot: bp})
		}
	}
	return figs, nil
}

// seriesNames labels lines: the system, its QPS profile when the figure
// mixes profiles, and its run when a system appears in several runs.
func seriesNames(keys []seriesKey, runs []*results.Run) map[seriesKey]string {
	profiles := map[string]bool{}
	runsOf := map[string]map[int]bool{}
	for _, k := range keys {
		profiles[k.profile] = true
		id := k.system + "\x00" + k.profile
		if runsOf[id] == nil {
			runsOf[id] = map[int]bool{}
		}
		runsOf[id][k.run] = true
	}
	names := map[seriesKey]string{}
	for _, k := range keys {
		n := k.system
		if len(profiles) > 1 && k.profile != "" {
			n += " (" + k.profile + ")"
		}
		if len(runsOf[k.system+"\x00"+k.profile]) > 1 {
			// The start time tells runs apart; the experiment is the figure's.
			base := filepath.Base(runs[k.run].Dir)
			n += " @" + strings.Replace(base, "-"+runs[k.run].Manifest().Experiment, "", 1)
		}
		names[k] = n
	}
	return names
}

// Render draws the burst figures of runs and saves them under opts.OutDir,
// returning the files written in order.
func Render(runs []*results.Run, opts Options) ([]string, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("plots: no runs to plot")
	}
	if opts.OutDir == "" {
		return nil, fmt.Errorf("plots: no output directory")
	}
	formats := opts.Formats
	if len(formats) == 0 {
		formats = []string{"png", "svg"}
	}
	figs, err := BurstFigures(runs, opts)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range figs {
		ps, err := Save(f.Plot, opts.OutDir, f.Name, formats, opts.Width, opts.Height)
		paths = append(paths, ps...)
		if err != nil {
			return paths, err
		}
	}
	return slices.Clip(paths), nil
}
