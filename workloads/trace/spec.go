package trace

import (
	"fmt"
	"math/rand"
)

// Clamps the loader applies to every generated invocation.
const (
	MinRuntimeMs = 1
	MaxRuntimeMs = 60_000
	MinMemoryMiB = 1
	MaxMemoryMiB = 10_240
)

// Upper quantiles of the intervals between adjacent percentiles, matching
// DurationPercentiles and MemoryPercentiles (the last interval runs to 1).
var (
	runtimeBounds = [...]float64{0.01, 0.25, 0.50, 0.75, 0.99}
	memoryBounds  = [...]float64{0.05, 0.25, 0.50, 0.75, 0.95, 0.99}
)

// between draws an integer in [int(lo), int(hi)) like the loader's
// randIntBetween: truncated bounds, and no draw at all when they are equal.
func between(rng *rand.Rand, lo, hi float64) (int, error) {
	a, b := int(lo), int(hi)
	switch {
	case b < a:
		return 0, fmt.Errorf("percentile %v below the previous one %v", hi, lo)
	case a == b:
		return a, nil
	}
	return rng.Intn(b-a) + a, nil
}

// runtimeMs maps quantile q in [0, 1) to a runtime from the duration
// percentiles: q = 0 gives p0, otherwise q picks the interval whose upper
// quantile is the first >= q.
func runtimeMs(rng *rand.Rand, q float64, p *[7]float64) (int, error) {
	if q == 0 {
		return int(p[0]), nil
	}
	i := 0
	for i < len(runtimeBounds) && q > runtimeBounds[i] {
		i++
	}
	return between(rng, p[i], p[i+1])
}

// memoryMiB is runtimeMs for the memory percentiles, whose lowest level is p1:
// q <= 0.01 gives p1.
func memoryMiB(rng *rand.Rand, q float64, p *[8]float64) (int, error) {
	if q <= 0.01 {
		return int(p[0]), nil
	}
	i := 0
	for i < len(memoryBounds) && q > memoryBounds[i] {
		i++
	}
	return between(rng, p[i], p[i+1])
}

func clamp(v, lo, hi int) int { return min(hi, max(lo, v)) }
