package plots

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Point is a median with its confidence interval at x.
type Point struct {
	X, Y   float64
	Lo, Hi float64
}

// Series is one line: one system's values over the sizes it ran.
type Series struct {
	Name   string
	Points []Point
}

// errorPoints adapts a series to gonum's XYer and YErrorer.
type errorPoints []Point

func (e errorPoints) Len() int                    { return len(e) }
func (e errorPoints) XY(i int) (float64, float64) { return e[i].X, e[i].Y }
func (e errorPoints) YError(i int) (float64, float64) {
	return e[i].Y - e[i].Lo, e[i].Hi - e[i].Y
}

// LatencyVsX draws one line per series with markers and error bars from
// each point's interval: the paper's Figs 9–11. The y axis starts at 0.
func LatencyVsX(title, xlabel, ylabel string, series []Series) (*plot.Plot, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("plots: %q: no series to draw", title)
	}
	p := newPlot(title, xlabel, ylabel)
	p.Add(plotter.NewGrid())
	var xs []float64
	for i, s := range series {
		if len(s.Points) == 0 {
			return nil, fmt.Errorf("plots: %q: series %q has no points", title, s.Name)
		}
		pts := errorPoints(slices.Clone(s.Points))
		slices.SortFunc(pts, func(a, b Point) int { return cmpFloat(a.X, b.X) })
		for _, pt := range pts {
			if bad(pt.X) || bad(pt.Y) || bad(pt.Lo) || bad(pt.Hi) || pt.Lo > pt.Y || pt.Hi < pt.Y {
				return nil, fmt.Errorf("plots: %q: series %q: point %+v is not a finite value inside its interval", title, s.Name, pt)
			}
			if !slices.Contains(xs, pt.X) {
				xs = append(xs, pt.X)
			}
		}
		line, scatter, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("plots: %q: series %q: %w", title, s.Name, err)
		}
		line.Color, line.Dashes = colorOf(i), dashesOf(i)
		line.Width = vg.Points(1.5)
		scatter.Color, scatter.Shape = colorOf(i), glyphOf(i)
		scatter.Radius = vg.Points(3)
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, fmt.Errorf("plots: %q: series %q: %w", title, s.Name, err)
		}
		bars.Color = colorOf(i)
		p.Add(line, scatter, bars)
		p.Legend.Add(s.Name, line, scatter)
	}
	slices.Sort(xs)
	ticks := make(plot.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = plot.Tick{Value: x, Label: fmt.Sprint(x)}
	}
	p.X.Tick.Marker = ticks
	p.Y.Min = 0
	top := 0.0
	for _, s := range series {
		for _, pt := range s.Points {
			top = max(top, pt.Hi)
		}
	}
	p.Y.Max = top * headroom(len(series))
	return p, nil
}

func bad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// headroom is the factor by which the y axis extends beyond the data so
// that a legend of n entries in a top corner does not cover it.
func headroom(n int) float64 { return 1.1 + 0.07*float64(n) }
