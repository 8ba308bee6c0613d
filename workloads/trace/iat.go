package trace

import (
	"fmt"
	"math/rand"
)

// column draws the inter-arrival times of one trace column with n > 0
// invocations into buf and returns the offset of the first invocation from
// the column's start, then the n gaps that follow each invocation (the last
// gap runs to the first invocation of a later column). The float operations
// and random draws are ordered exactly as the loader's
// generateIATPerGranularity, so results are bit-identical.
func column(rng *rand.Rand, n int, o Options, buf []float64) (first float64, gaps []float64, err error) {
	iats := buf[:0]
	total := 0.0
	for i := 0; i < n; i++ {
		var v float64
		switch o.IAT {
		case Exponential, ExponentialShift:
			v = rng.ExpFloat64()
		case Uniform, UniformShift:
			v = rng.Float64()
		case Equidistant:
			v = 1_000_000.0 / float64(n)
			if o.Granularity == Minute {
				v *= 60.0
			}
		}
		if v == 0 {
			// The loader aborts here: a zero gap cannot be slept at µs precision.
			return 0, nil, fmt.Errorf("trace: drew a zero inter-arrival time (the loader aborts on this too); try another seed")
		}
		iats = append(iats, v)
		total += v
	}
	if o.IAT != Equidistant {
		// Normalise the draws so the column's gaps add up to its length.
		for i := range iats {
			iats[i] = iats[i] / total
			iats[i] = iats[i] * 1_000_000.0
			if o.Granularity == Minute {
				iats[i] *= 60.0
			}
		}
	}
	if !o.shift() {
		return 0, iats, nil
	}
	// Rotate at a random instant so the first invocation moves off the column start.
	split := rng.Float64() * 1_000_000.0
	if o.Granularity == Minute {
		split *= 60.0
	}
	sum, i := 0.0, 0
	for ; i < len(iats); i++ {
		sum += iats[i]
		if sum > split {
			break
		}
	}
	if i == len(iats) {
		// Rounding left the sum at or below split; the loader would index out of
		// range. Cut inside the last gap instead.
		i--
	}
	begin := max(sum-split, 0)
	end := iats[i] - begin
	out := make([]float64, 0, n)
	out = append(out, iats[i+1:]...)
	out = append(out, iats[:i]...)
	out = append(out, end)
	return begin, out, nil
}
