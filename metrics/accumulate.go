package metrics

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/workloads/trace"
)

// Systems whose rows the artifact's plot.py filters on their own.
const (
	// SystemDirigent's scheduling latency from a CSV keeps values < 1500 ms
	// (plot.py's filter_outliers, "for Dirigent in right subplot").
	SystemDirigent = "dirigent"
	// SystemKnKd's log rows with Delay > 8000 ms are dropped from both
	// metrics (plot.py's filter_timeout, "for Kn/Kd only").
	SystemKnKd = "kn-kd"
)

const (
	dirigentLatencyBelowMs = 1500
	knKdDelayAtMostMs      = 8000
)

// FunctionValue is a per-function aggregate.
type FunctionValue struct {
	Function    string
	Value       float64
	Invocations int
}

// PerFunction is a per-function metric and what was left out to compute it.
type PerFunction struct {
	Metric Metric
	// Functions is sorted by Function.
	Functions []FunctionValue
	// Records left out: of the warm-up; timed out (slowdown, CSV);
	// slowdown below 1 (or undefined, 0/0); cut by a per-system filter
	// (Dirigent ≥ 1500 ms, Kn/Kd Delay > 8000 ms); with no instance.
	Warmup, Failed, BelowOne, Filtered, NoFunction int
	// Singletons counts functions left with one invocation and excluded.
	Singletons int
}

// Values returns the per-function values in Functions order.
func (p PerFunction) Values() []float64 {
	v := make([]float64, len(p.Functions))
	for i, f := range p.Functions {
		v[i] = f.Value
	}
	return v
}

// Accumulator computes both metrics from invocations added one at a time,
// holding a compensated sum and a count per function, so that a long
// replay's memory does not grow with its invocations. One accumulator is
// one system's results in one format.
type Accumulator struct {
	rules   Rules
	system  string
	warmup  int
	metrics map[Metric]*accumulated
}

type accumulated struct {
	sums                                           map[string]*kahan
	warmup, failed, belowOne, filtered, noFunction int
}

// kahan is pandas' groupby mean: a Kahan-compensated sum and a count.
type kahan struct {
	sum, c float64
	n      int
}

func (k *kahan) add(v float64) {
	y := v - k.c
	t := k.sum + y
	k.c = (t - k.sum) - y
	k.sum = t
	k.n++
}

// NewAccumulator starts system's metrics under rules, with warmupMinutes of
// warm-up (the artifact: 10; a second-granularity replay counts columns).
func NewAccumulator(rules Rules, system string, warmupMinutes int) *Accumulator {
	a := &Accumulator{rules: rules, system: system, warmup: warmupMinutes, metrics: map[Metric]*accumulated{}}
	for _, m := range Metrics {
		a.metrics[m] = &accumulated{sums: map[string]*kahan{}}
	}
	return a
}

// Rules returns the accumulator's rule set.
func (a *Accumulator) Rules() Rules { return a.rules }

func (x *accumulated) add(key string, v float64) {
	if key == "" {
		x.noFunction++
		return
	}
	s := x.sums[key]
	if s == nil {
		s = &kahan{}
		x.sums[key] = s
	}
	s.add(v)
}

// AddCSV accounts one loader-format row.
func (a *Accumulator) AddCSV(r *trace.Record) {
	warm := InWarmup(r.InvocationID, a.warmup)
	slow, lat := a.metrics[Slowdown], a.metrics[SchedulingLatency]
	// Slowdown: warm-up, then < 1 (NaN included), then timeouts.
	s := float64(r.ResponseTimeUs) / float64(r.RequestedDurationUs)
	switch {
	case warm:
		slow.warmup++
	case !(s >= 1):
		slow.belowOne++
	case a.rules.DropTimeoutsFromSlowdown && r.Failed():
		slow.failed++
	default:
		a.addSlowdown(FunctionOf(r.Instance, Slowdown), s)
	}
	// Scheduling latency keeps timed-out rows under both rule sets.
	v := float64(r.ResponseTimeUs-r.ActualDurationUs) / 1000
	switch {
	case warm && a.rules.WarmupForLatency:
		lat.warmup++
	case a.rules.SystemFilters && a.system == SystemDirigent && !(v < dirigentLatencyBelowMs):
		lat.filtered++
	default:
		lat.add(FunctionOf(r.Instance, SchedulingLatency), v)
	}
}

// AddLog accounts one line of the artifact's trace log.
func (a *Accumulator) AddLog(r *LogRecord) {
	warm := r.TS < float64(60*a.warmup)
	cut := a.rules.SystemFilters && a.system == SystemKnKd && r.DelayMs > knKdDelayAtMostMs
	key := "trace-" + strconv.Itoa(r.Function)
	slow, lat := a.metrics[Slowdown], a.metrics[SchedulingLatency]
	s := (r.DelayMs + r.ActualMs) / float64(r.RequestedMs)
	switch {
	case warm:
		slow.warmup++
	case cut:
		slow.filtered++
	case !(s >= 1):
		slow.belowOne++
	default:
		a.addSlowdown(key, s)
	}
	switch {
	case warm && a.rules.WarmupForLatency:
		lat.warmup++
	case cut:
		lat.filtered++
	default:
		lat.add(key, r.DelayMs)
	}
}

func (a *Accumulator) addSlowdown(key string, s float64) {
	if a.rules.GeoMeanSlowdown {
		s = math.Log(s)
	}
	a.metrics[Slowdown].add(key, s)
}

// PerFunction returns metric m over the invocations added so far.
func (a *Accumulator) PerFunction(m Metric) PerFunction {
	x := a.metrics[m]
	out := PerFunction{Metric: m, Warmup: x.warmup, Failed: x.failed, BelowOne: x.belowOne,
		Filtered: x.filtered, NoFunction: x.noFunction}
	out.Functions = make([]FunctionValue, 0, len(x.sums))
	for k, s := range x.sums {
		if a.rules.DropSingletons && s.n < 2 {
			out.Singletons++
			continue
		}
		v := s.sum / float64(s.n)
		if m == Slowdown && a.rules.GeoMeanSlowdown {
			v = math.Exp(v)
		}
		out.Functions = append(out.Functions, FunctionValue{Function: k, Value: v, Invocations: s.n})
	}
	sort.Slice(out.Functions, func(i, j int) bool { return out.Functions[i].Function < out.Functions[j].Function })
	return out
}

// InWarmup says whether the invocation ID "min<m>.inv<k>" or "sec<s>.inv<k>"
// falls in the first warmup columns. With warmup = 10 and minute IDs this is
// plot.py's `^min[0-9]\.`; plot.py never saw second-granularity IDs, which
// kdbench's short replays write, so "sec" columns count the same way. IDs of
// another shape are kept, as plot.py keeps them.
func InWarmup(id string, warmup int) bool {
	rest, ok := strings.CutPrefix(id, "min")
	if !ok {
		if rest, ok = strings.CutPrefix(id, "sec"); !ok {
			return false
		}
	}
	col, _, ok := strings.Cut(rest, ".")
	if !ok || leadingDigits(col) != len(col) {
		return false
	}
	n, err := strconv.Atoi(col)
	// "min05." is not plot.py's min[0-9]\. : only canonical numbers count.
	return err == nil && strconv.Itoa(n) == col && n < warmup
}

// Compute returns both metrics of one system's results under rules, with
// the warm-up its replay recorded, else warmupMinutes.
func Compute(rules Rules, src *Source, warmupMinutes int) map[Metric]PerFunction {
	a := NewAccumulator(rules, src.System, src.WarmupOr(warmupMinutes))
	for i := range src.CSV {
		a.AddCSV(&src.CSV[i])
	}
	for i := range src.Log {
		a.AddLog(&src.Log[i])
	}
	return map[Metric]PerFunction{Slowdown: a.PerFunction(Slowdown), SchedulingLatency: a.PerFunction(SchedulingLatency)}
}

// Describe is a one-line account of what was left out, for reports.
func (p PerFunction) Describe() string {
	return fmt.Sprintf("%d functions; left out: %d warm-up, %d timed out, %d below 1, %d by system filter, %d without instance records, %d single-invocation functions",
		len(p.Functions), p.Warmup, p.Failed, p.BelowOne, p.Filtered, p.NoFunction, p.Singletons)
}

// PercentileRule names how Summarize interpolates, for every report that
// prints its percentiles.
const PercentileRule = "linear interpolation, h = (n−1)·p (pandas' default quantile, as plot.py prints)"

// Distribution is per-function values summarised as plot.py prints them.
type Distribution struct {
	N                   int
	P50, P90, P99, Mean float64
}

// Summarize returns the pandas-default percentiles and the mean of values
// (any order; not modified). NaN values are left out, as pandas skips them.
func Summarize(values []float64) Distribution {
	s := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	sort.Float64s(s)
	return Distribution{N: len(s), P50: stats.QuantileLinear(s, 0.5), P90: stats.QuantileLinear(s, 0.9),
		P99: stats.QuantileLinear(s, 0.99), Mean: stats.Mean(s)}
}
