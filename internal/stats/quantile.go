// Package stats holds the few statistics kdbench reports: percentiles over
// pods the way the Kubedirect artifact computed them, medians over
// repetitions, and seeded bootstrap confidence intervals.
package stats

import (
	"fmt"
	"math"
	"slices"
)

// Quantile returns the p-quantile of an ascending sample the way the
// Kubedirect artifact does: the element at index ⌊p·n⌋, clamped to the last
// one. It is a nearest-rank rule with no interpolation, so every reported
// value is one that was observed. sorted must be ascending (Percentiles sorts
// for you); an empty sample gives NaN.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	i := int(math.Floor(p * float64(n)))
	switch {
	case i < 0:
		i = 0
	case i >= n:
		i = n - 1
	}
	return sorted[i]
}

// Summary is the distribution of one quantity over one repetition's pods.
type Summary struct {
	N    int
	Min  float64
	P50  float64
	P90  float64
	P99  float64
	Max  float64
	Mean float64
}

// Percentiles summarises xs (any order; xs is not modified). NaN values are
// an error rather than silently sorting somewhere.
func Percentiles(xs []float64) (Summary, error) {
	if len(xs) == 0 {
		return Summary{}, fmt.Errorf("stats: percentiles of an empty sample")
	}
	s := slices.Clone(xs)
	for i, x := range s {
		if math.IsNaN(x) {
			return Summary{}, fmt.Errorf("stats: sample value %d is NaN", i)
		}
	}
	slices.Sort(s)
	return Summary{
		N:    len(s),
		Min:  s[0],
		P50:  Quantile(s, 0.50),
		P90:  Quantile(s, 0.90),
		P99:  Quantile(s, 0.99),
		Max:  s[len(s)-1],
		Mean: Mean(s),
	}, nil
}

// Median is the conventional median (mean of the two middle values for an
// even count). Across a handful of repetitions it is the robust centre; over
// pods, use Quantile(…, 0.5) to match the artifact. NaN for an empty sample.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Mean is the arithmetic mean; NaN for an empty sample.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// GeoMean is the geometric mean of positive values (the trace experiments'
// per-function slowdown). A value ≤ 0 is an error: the caller must decide
// whether to drop it, as the paper drops slowdowns below 1.
func GeoMean(xs []float64) (float64, error) {
	if len(xs) == 0 {
		return math.NaN(), fmt.Errorf("stats: geometric mean of an empty sample")
	}
	var logSum float64
	for i, x := range xs {
		if !(x > 0) {
			return math.NaN(), fmt.Errorf("stats: geometric mean needs positive values, value %d is %v", i, x)
		}
		logSum += math.Log(x)
	}
	return math.Exp(logSum / float64(len(xs))), nil
}

// QuantileLinear is pandas' default Series.quantile (numpy's "linear",
// Hyndman–Fan type 7): h = (n−1)·p, interpolated between the elements at
// ⌊h⌋ and ⌈h⌉ of the ascending sample. The artifact's plot.py prints its
// p50 and p99 this way. NaN for an empty sample or p outside [0, 1].
func QuantileLinear(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || !(p >= 0 && p <= 1) {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	frac := h - float64(lo)
	if frac == 0 {
		return sorted[lo]
	}
	// numpy's _lerp: a + (b−a)·t, switched to b − (b−a)·(1−t) for t ≥ ½.
	a, b := sorted[lo], sorted[lo+1]
	d := b - a
	if frac >= 0.5 {
		return b - d*(1-frac)
	}
	return a + d*frac
}

// QuantileCL2 is ClusterLoader2's percentile rule (perf-tests
// clusterloader2/pkg/measurement/util NewLatencyMetric): the element at
// index ⌈n·q/100⌉−1 of the ascending sample for the integer percent
// q = round(100·p), computed in integers as CL2 does. NaN for an empty
// sample.
func QuantileCL2(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	q := int(math.Round(100 * p))
	i := (n*q+99)/100 - 1
	i = max(0, min(i, n-1))
	return sorted[i]
}

// QuantileRule picks the p-quantile of an ascending sample.
type QuantileRule func(sorted []float64, p float64) float64

// PercentilesBy is Percentiles with the given quantile rule.
func PercentilesBy(xs []float64, q QuantileRule) (Summary, error) {
	s, err := Percentiles(xs)
	if err != nil {
		return s, err
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s.P50, s.P90, s.P99 = q(sorted, 0.50), q(sorted, 0.90), q(sorted, 0.99)
	return s, nil
}
