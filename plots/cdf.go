package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kdbench/kdbench/internal/stats"
)

// Sample is one CDF line: a name and its raw values (e.g. one value per
// function: its slowdown or its mean scheduling latency).
type Sample struct {
	Name   string
	Values []float64
}

// CDF draws the empirical distribution of each sample as a step line, the
// trace experiments' figures (per-function slowdown and scheduling latency,
// Figs 12–13). With logX the x axis is logarithmic, and a value ≤ 0 is an
// error naming the sample: the caller decides whether to drop or shift it.
func CDF(title, xlabel string, samples []Sample, logX bool) (*plot.Plot, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("plots: %q: no samples to draw", title)
	}
	p := newPlot(title, xlabel, "CDF")
	p.Legend.Top, p.Legend.Left = false, false
	p.Add(plotter.NewGrid())
	lowest := math.Inf(1)
	for i, s := range samples {
		x, y := stats.ECDF(s.Values)
		if len(x) == 0 {
			return nil, fmt.Errorf("plots: %q: sample %q is empty", title, s.Name)
		}
		if logX && x[0] <= 0 {
			n := 0
			for _, v := range x {
				if v <= 0 {
					n++
				}
			}
			return nil, fmt.Errorf("plots: %q: sample %q has %d values ≤ 0, which a log axis cannot show", title, s.Name, n)
		}
		lowest = min(lowest, x[0])
		// Start the step at y=0 so the curve begins on the axis.
		xys := make(plotter.XYs, 0, len(x)+1)
		xys = append(xys, plotter.XY{X: x[0], Y: 0})
		for j := range x {
			if bad(x[j]) {
				return nil, fmt.Errorf("plots: %q: sample %q has an infinite value", title, s.Name)
			}
			xys = append(xys, plotter.XY{X: x[j], Y: y[j]})
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plots: %q: sample %q: %w", title, s.Name, err)
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Dashes = colorOf(i), dashesOf(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.Name, line)
	}
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		// Start at a decade so the axis has a labelled left end (1 for slowdowns).
		p.X.Min = math.Pow(10, math.Floor(math.Log10(lowest)))
	}
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}
