package trace

import "math"

// Accumulator computes SchedulingLatency and Slowdown from records added one
// at a time, holding a sum and a count per function instead of every record,
// so that a long replay's memory does not grow with its invocations.
type Accumulator struct {
	warmupMinutes int
	latency       accumulated
	slowdown      accumulated
}

type accumulated struct {
	sums                     map[string]*sumCount
	warmup, failed, belowOne int
}

type sumCount struct {
	sum float64
	n   int
}

// NewAccumulator returns an accumulator dropping the first warmupMinutes.
func NewAccumulator(warmupMinutes int) *Accumulator {
	return &Accumulator{
		warmupMinutes: warmupMinutes,
		latency:       accumulated{sums: map[string]*sumCount{}},
		slowdown:      accumulated{sums: map[string]*sumCount{}},
	}
}

// Add accounts one record as SchedulingLatency and Slowdown would.
func (a *Accumulator) Add(r *Record) {
	if inWarmup(r.InvocationID, a.warmupMinutes) {
		a.latency.warmup++
		a.slowdown.warmup++
		return
	}
	k := FunctionKey(r.Instance)
	if r.Failed() {
		a.latency.failed++
	} else {
		a.latency.add(k, float64(r.ResponseTimeUs-r.ActualDurationUs)/1000)
	}
	switch {
	case r.Failed() || r.RequestedDurationUs <= 0:
		a.slowdown.failed++
	case float64(r.ResponseTimeUs)/float64(r.RequestedDurationUs) < 1:
		a.slowdown.belowOne++
	default:
		a.slowdown.add(k, math.Log(float64(r.ResponseTimeUs)/float64(r.RequestedDurationUs)))
	}
}

func (a *accumulated) add(k string, v float64) {
	s := a.sums[k]
	if s == nil {
		s = &sumCount{}
		a.sums[k] = s
	}
	s.sum += v
	s.n++
}

func (a *accumulated) perFunction(f func(mean float64) float64) PerFunction {
	out := PerFunction{Warmup: a.warmup, Failed: a.failed, BelowOne: a.belowOne}
	out.Functions = make([]FunctionValue, 0, len(a.sums))
	for k, s := range a.sums {
		if s.n < 2 {
			out.Singletons++
			continue
		}
		out.Functions = append(out.Functions, FunctionValue{Function: k, Value: f(s.sum / float64(s.n)), Invocations: s.n})
	}
	sortByFunction(out.Functions)
	return out
}

// SchedulingLatency is SchedulingLatency of the records added so far.
func (a *Accumulator) SchedulingLatency() PerFunction {
	return a.latency.perFunction(func(m float64) float64 { return m })
}

// Slowdown is Slowdown of the records added so far.
func (a *Accumulator) Slowdown() PerFunction { return a.slowdown.perFunction(math.Exp) }
