package plots

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Bar is one stacked bar: its label on the x axis and one segment per stage.
type Bar struct {
	Label    string
	Segments []float64
}

// StackedBars draws one bar per entry with its segments stacked in stage
// order, and a legend of stages. Negative segments (two informers that saw
// causally ordered events out of order) are drawn as 0; the numbers in
// summary.json keep them.
func StackedBars(title, ylabel string, stages []string, bars []Bar) (*plot.Plot, error) {
	if len(bars) == 0 || len(stages) == 0 {
		return nil, fmt.Errorf("plots: %q: nothing to draw (%d bars, %d stages)", title, len(bars), len(stages))
	}
	p := newPlot(title, "", ylabel)
	p.Legend.Left = false
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	p.Add(grid)
	width := vg.Points(float64(240) / float64(len(bars)))
	if width > vg.Points(28) {
		width = vg.Points(28)
	}
	var below *plotter.BarChart
	var charts []*plotter.BarChart
	top := 0.0
	for s, stage := range stages {
		vals := make(plotter.Values, len(bars))
		for i, b := range bars {
			if len(b.Segments) != len(stages) {
				return nil, fmt.Errorf("plots: %q: bar %q has %d segments, want %d (%v)", title, b.Label, len(b.Segments), len(stages), stages)
			}
			v := b.Segments[s]
			if bad(v) {
				return nil, fmt.Errorf("plots: %q: bar %q stage %s is %v", title, b.Label, stage, v)
			}
			vals[i] = max(v, 0)
		}
		chart, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("plots: %q: %w", title, err)
		}
		chart.Color = colorOf(s)
		chart.LineStyle.Width = vg.Points(0.5)
		if below != nil {
			chart.StackOn(below)
		}
		p.Add(chart)
		charts = append(charts, chart)
		below = chart
	}
	// The legend lists stages top-down as they are stacked, above the bars.
	for s := len(stages) - 1; s >= 0; s-- {
		p.Legend.Add(stages[s], charts[s])
	}
	for i := range bars {
		top = max(top, below.BarHeight(i))
	}
	p.Y.Max = top * headroom(len(stages))
	labels := make([]string, len(bars))
	for i, b := range bars {
		labels[i] = b.Label
	}
	p.NominalX(labels...)
	p.X.Tick.Label.Rotation = 0.6
	p.X.Tick.Label.XAlign = -1 // rotated labels hang from their tick
	p.Y.Min = 0
	return p, nil
}
