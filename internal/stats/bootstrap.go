package stats

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Interval is a point estimate with a confidence interval around it.
type Interval struct {
	Point float64
	Lo    float64
	Hi    float64
}

// BootstrapOptions fixes how a confidence interval is resampled. The zero
// value means DefaultBootstrap.
type BootstrapOptions struct {
	// Resamples is the number of bootstrap resamples.
	Resamples int
	// Confidence is the two-sided coverage, e.g. 0.95.
	Confidence float64
	// Seed makes the interval deterministic: the same sample and seed give
	// the same interval on every machine and Go version.
	Seed uint64
}

// DefaultBootstrap is what kdbench reports: 10 000 resamples, 95 % percentile
// intervals, seed 1.
var DefaultBootstrap = BootstrapOptions{Resamples: 10000, Confidence: 0.95, Seed: 1}

func (o BootstrapOptions) withDefaults() (BootstrapOptions, error) {
	if o.Resamples == 0 {
		o.Resamples = DefaultBootstrap.Resamples
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultBootstrap.Confidence
	}
	if o.Seed == 0 {
		o.Seed = DefaultBootstrap.Seed
	}
	if o.Resamples < 1 {
		return o, fmt.Errorf("stats: bootstrap resamples must be positive, got %d", o.Resamples)
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return o, fmt.Errorf("stats: bootstrap confidence must be in (0,1), got %v", o.Confidence)
	}
	return o, nil
}

// Statistic maps a sample to one number (Median, Mean, …).
type Statistic func([]float64) float64

// Bootstrap returns stat(xs) with a percentile bootstrap confidence interval:
// xs is resampled with replacement, stat is computed on every resample, and
// the interval spans the (1−c)/2 and (1+c)/2 quantiles of those values.
// With a handful of repetitions the interval is coarse (it can only take
// observed values for the median), which is honest about how little five
// runs say. A single value gives a zero-width interval.
func Bootstrap(xs []float64, stat Statistic, opts BootstrapOptions) (Interval, error) {
	if len(xs) == 0 {
		return Interval{}, fmt.Errorf("stats: bootstrap of an empty sample")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return Interval{}, err
	}
	r := newRand(o.Seed)
	buf := make([]float64, len(xs))
	vals := make([]float64, o.Resamples)
	for i := range vals {
		resample(r, xs, buf)
		vals[i] = stat(buf)
	}
	lo, hi := percentileInterval(vals, o.Confidence)
	return Interval{Point: stat(xs), Lo: lo, Hi: hi}, nil
}

// BootstrapRatio estimates stat(b)/stat(a) with a confidence interval from
// resampling a and b independently (two runs are independent samples). It is
// how compare states "B is 1.12× A [1.05, 1.20]".
func BootstrapRatio(a, b []float64, stat Statistic, opts BootstrapOptions) (Interval, error) {
	if len(a) == 0 || len(b) == 0 {
		return Interval{}, fmt.Errorf("stats: bootstrap ratio needs two non-empty samples (got %d and %d values)", len(a), len(b))
	}
	o, err := opts.withDefaults()
	if err != nil {
		return Interval{}, err
	}
	r := newRand(o.Seed)
	bufA, bufB := make([]float64, len(a)), make([]float64, len(b))
	vals := make([]float64, o.Resamples)
	for i := range vals {
		resample(r, a, bufA)
		resample(r, b, bufB)
		vals[i] = stat(bufB) / stat(bufA)
	}
	lo, hi := percentileInterval(vals, o.Confidence)
	return Interval{Point: stat(b) / stat(a), Lo: lo, Hi: hi}, nil
}

// newRand returns a PCG generator: its output sequence is specified, so
// intervals do not change with the Go version.
func newRand(seed uint64) *rand.PCG {
	return rand.NewPCG(seed, 0x6b64626e6368) // "kdbnch": any fixed stream works
}

// resample fills dst with len(dst) draws from src with replacement.
func resample(r *rand.PCG, src, dst []float64) {
	n := uint64(len(src))
	for i := range dst {
		dst[i] = src[boundedIndex(r, n)]
	}
}

// boundedIndex draws uniformly from [0, n) with Lemire's multiply-and-reject
// method, spelled out here rather than taken from rand.IntN, whose algorithm
// the Go project does not promise to keep.
func boundedIndex(r *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}

// percentileInterval returns the lower and upper quantiles of vals for a
// two-sided interval of coverage c. NaN resample values (e.g. 0/0 ratios)
// are ignored; if nothing else remains the interval is NaN.
func percentileInterval(vals []float64, c float64) (float64, float64) {
	vals = slices.DeleteFunc(vals, math.IsNaN)
	if len(vals) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(vals)
	alpha := (1 - c) / 2
	return Quantile(vals, alpha), Quantile(vals, 1-alpha)
}
