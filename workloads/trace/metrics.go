package trace

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// FunctionKey is the function identity used when grouping result records:
// the instance name up to its first '-', which strips the random suffix the
// loader and the front-ends append.
func FunctionKey(instance string) string {
	if i := strings.IndexByte(instance, '-'); i >= 0 {
		return instance[:i]
	}
	return instance
}

// FunctionValue is a per-function aggregate.
type FunctionValue struct {
	Function    string
	Value       float64
	Invocations int
}

// PerFunction is a per-function metric and what was dropped to compute it.
type PerFunction struct {
	// Functions is sorted by Function.
	Functions []FunctionValue
	// Warmup counts records of the first warm-up minutes; Failed, records
	// that timed out; BelowOne, slowdowns below 1; Singletons, functions left
	// with a single invocation.
	Warmup, Failed, BelowOne, Singletons int
}

// Values returns the per-function values in Functions order.
func (p PerFunction) Values() []float64 {
	v := make([]float64, len(p.Functions))
	for i, f := range p.Functions {
		v[i] = f.Value
	}
	return v
}

// inWarmup says whether the invocation ID "min<m>.inv<k>" has m < minutes.
// IDs of another shape are kept, as the papers' scripts keep them.
func inWarmup(id string, minutes int) bool {
	rest, ok := strings.CutPrefix(id, "min")
	if !ok {
		return false
	}
	m, _, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(m)
	return err == nil && n < minutes
}

// Slowdown is the per-function slowdown of the papers' Figs 12-13:
// per invocation responseTime / requestedDuration; values below 1 are
// removed (not clamped); per function the geometric mean; records of the
// first warmupMinutes minutes and timed-out records are dropped, and
// functions left with a single invocation are excluded.
//
// Note: the Kubedirect artifact's plot.py averages slowdowns arithmetically;
// kdbench follows its design note (geometric mean, which suits ratios).
func Slowdown(records []Record, warmupMinutes int) PerFunction {
	var out PerFunction
	groups := map[string][]float64{}
	for i := range records {
		r := &records[i]
		switch {
		case inWarmup(r.InvocationID, warmupMinutes):
			out.Warmup++
			continue
		case r.Failed() || r.RequestedDurationUs <= 0:
			out.Failed++
			continue
		}
		s := float64(r.ResponseTimeUs) / float64(r.RequestedDurationUs)
		if s < 1 {
			out.BelowOne++
			continue
		}
		k := FunctionKey(r.Instance)
		groups[k] = append(groups[k], math.Log(s))
	}
	out.Functions, out.Singletons = aggregate(groups, func(logs []float64) float64 {
		return math.Exp(mean(logs))
	})
	return out
}

// SchedulingLatency is the per-function scheduling latency in milliseconds:
// per invocation (responseTime − actualDuration) / 1000, per function the
// arithmetic mean; warm-up and timed-out records are dropped and functions
// with a single invocation excluded, as for Slowdown.
func SchedulingLatency(records []Record, warmupMinutes int) PerFunction {
	var out PerFunction
	groups := map[string][]float64{}
	for i := range records {
		r := &records[i]
		switch {
		case inWarmup(r.InvocationID, warmupMinutes):
			out.Warmup++
			continue
		case r.Failed():
			out.Failed++
			continue
		}
		k := FunctionKey(r.Instance)
		groups[k] = append(groups[k], float64(r.ResponseTimeUs-r.ActualDurationUs)/1000)
	}
	out.Functions, out.Singletons = aggregate(groups, mean)
	return out
}

func aggregate(groups map[string][]float64, f func([]float64) float64) ([]FunctionValue, int) {
	out := make([]FunctionValue, 0, len(groups))
	singletons := 0
	for k, v := range groups {
		if len(v) < 2 {
			singletons++
			continue
		}
		out = append(out, FunctionValue{Function: k, Value: f(v), Invocations: len(v)})
	}
	sortByFunction(out)
	return out, singletons
}

func sortByFunction(v []FunctionValue) {
	sort.Slice(v, func(i, j int) bool { return v[i].Function < v[j].Function })
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
