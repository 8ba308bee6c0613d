package stats

import (
	"math"
	"slices"
)

// ECDF returns the empirical distribution of xs as ascending values and the
// fraction of the sample at or below each: y[i] = (i+1)/n. NaN values are
// dropped. The trace figures (per-function slowdown and scheduling latency)
// draw these as step lines.
func ECDF(xs []float64) (x, y []float64) {
	x = slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	slices.Sort(x)
	y = make([]float64, len(x))
	for i := range x {
		y[i] = float64(i+1) / float64(len(x))
	}
	return x, y
}
