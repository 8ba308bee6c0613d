package results

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kdbench/kdbench/internal/stats"
)

const nsPerMs = 1e6

// repGroup is one repetition's pods and outcome.
type repGroup struct {
	id    RepID
	state RepState
	pods  []PodRecord
}

// groupReps splits pods by repetition and joins each with its last marked
// status; unmarked repetitions are RepIncomplete. Order: system, profile,
// size, rep.
func groupReps(m Manifest, pods []PodRecord) []*repGroup {
	byKey := map[key]*repGroup{}
	var groups []*repGroup
	for _, p := range pods {
		k := p.RepID().key()
		g := byKey[k]
		if g == nil {
			g = &repGroup{id: p.RepID(), state: RepIncomplete}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.pods = append(g.pods, p)
	}
	for _, st := range m.RepStatuses {
		if g := byKey[st.key()]; g != nil {
			g.state = st.State
		}
	}
	slices.SortFunc(groups, func(a, b *repGroup) int {
		if c := compareConfigs(configOf(a.id), configOf(b.id)); c != 0 {
			return c
		}
		return a.id.Rep - b.id.Rep
	})
	return groups
}

func configOf(id RepID) Config { return Config{id.System, id.QPSProfile, id.Size} }

// Summarize computes summary.json's content from a run's pods: for every
// repetition, the percentiles over pods of every Stage and the per-stage
// breakdown, then for every configuration the median over its measured
// successful repetitions with a bootstrap interval. Extra items (e.g. a
// trace experiment's) are appended unchanged.
func Summarize(m Manifest, pods []PodRecord, boot stats.BootstrapOptions, extra ...DataItem) (*PerfData, error) {
	pd := &PerfData{Version: PerfDataVersion, DataItems: []DataItem{}}
	for _, g := range groupReps(m, pods) {
		labels := func(metric string) map[string]string {
			return withoutEmpty(map[string]string{
				LabelMetric:     metric,
				LabelExperiment: m.Experiment,
				LabelSystem:     g.id.System,
				LabelQPSProfile: g.id.QPSProfile,
				LabelSize:       strconv.Itoa(g.id.Size),
				LabelRep:        strconv.Itoa(g.id.Rep),
				LabelWarmup:     strconv.FormatBool(g.id.Warmup),
				LabelStatus:     string(g.state),
				LabelPercentile: percentileRuleOf(metric),
			})
		}
		for _, st := range Stages {
			var ms []float64
			for _, p := range g.pods {
				if d, ok := st.Duration(p); ok {
					ms = append(ms, float64(d)/nsPerMs)
				}
			}
			if len(ms) == 0 {
				continue
			}
			s, err := stats.PercentilesBy(ms, st.Family.Percentile())
			if err != nil {
				return nil, fmt.Errorf("%s stage %s: %w", g.id, st.Name, err)
			}
			pd.DataItems = append(pd.DataItems, DataItem{
				Data: map[string]float64{
					KeyPerc50: s.P50, KeyPerc90: s.P90, KeyPerc99: s.P99, KeyMax: s.Max,
					KeyCount: float64(s.N), KeyMissing: float64(len(g.pods) - s.N),
				},
				Unit:   "ms",
				Labels: labels(st.Name),
			})
		}
		for i, seg := range breakdown(g.pods) {
			if seg == nil {
				break
			}
			pd.DataItems = append(pd.DataItems, DataItem{Data: seg, Unit: "ms", Labels: labels(BreakdownPrefix + BreakdownStages[i])})
		}
	}
	agg, err := aggregateItems(m.Experiment, pd, boot)
	if err != nil {
		return nil, err
	}
	pd.DataItems = append(pd.DataItems, agg...)
	pd.DataItems = append(pd.DataItems, extra...)
	return pd, nil
}

// breakdown returns, per BreakdownStages entry, the difference between the
// percentiles (over pods) of successive milestones measured from the burst
// start, for each of Perc50/90/99/Max. It returns nil entries from the first
// milestone no pod reached.
func breakdown(pods []PodRecord) []map[string]float64 {
	out := make([]map[string]float64, len(breakdownMilestones))
	prev := map[string]float64{}
	for i, ms := range breakdownMilestones {
		var since []float64
		for _, p := range pods {
			if start, t := p.BurstStart, p.first(ms); start != 0 && t != 0 {
				since = append(since, float64(t-start)/nsPerMs)
			}
		}
		if len(since) == 0 {
			return out
		}
		s, err := stats.Percentiles(since)
		if err != nil {
			return out
		}
		cum := map[string]float64{KeyPerc50: s.P50, KeyPerc90: s.P90, KeyPerc99: s.P99, KeyMax: s.Max}
		seg := map[string]float64{}
		for k, v := range cum {
			seg[k] = v - prev[k]
		}
		out[i], prev = seg, cum
	}
	return out
}

// aggregateItems adds, for each metric and configuration, the median over
// measured successful repetitions of each statistic with its interval.
func aggregateItems(experiment string, pd *PerfData, boot stats.BootstrapOptions) ([]DataItem, error) {
	var metrics []string
	seen := map[string]bool{}
	for _, it := range pd.DataItems {
		if n := it.Labels[LabelMetric]; !seen[n] {
			seen[n] = true
			metrics = append(metrics, n)
		}
	}
	var items []DataItem
	for _, name := range metrics {
		byConfig := map[Config]map[string]float64{}
		for _, key := range statKeys {
			vals, err := pd.RepValues(Metric{name, key})
			if err != nil {
				return nil, err
			}
			for cfg, xs := range vals {
				iv, err := stats.Bootstrap(xs, stats.Median, boot)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", cfg, Metric{name, key}, err)
				}
				d := byConfig[cfg]
				if d == nil {
					d = map[string]float64{}
					byConfig[cfg] = d
				}
				d[key], d[key+"Lo"], d[key+"Hi"] = iv.Point, iv.Lo, iv.Hi
				d[KeyReps] = float64(len(xs))
			}
		}
		cfgs := make([]Config, 0, len(byConfig))
		for cfg := range byConfig {
			cfgs = append(cfgs, cfg)
		}
		slices.SortFunc(cfgs, compareConfigs)
		for _, cfg := range cfgs {
			items = append(items, DataItem{
				Data: byConfig[cfg],
				Unit: "ms",
				Labels: withoutEmpty(map[string]string{
					LabelMetric:     name,
					LabelExperiment: experiment,
					LabelSystem:     cfg.System,
					LabelQPSProfile: cfg.QPSProfile,
					LabelSize:       strconv.Itoa(cfg.Size),
					LabelAggregate:  AggregateMedian,
					LabelPercentile: percentileRuleOf(name),
				}),
			})
		}
	}
	return items, nil
}

// Estimate is a metric's median over a configuration's measured
// repetitions, with its bootstrap interval and the values it came from.
type Estimate struct {
	Config
	Reps   []float64
	Median stats.Interval
}

// Estimates computes the median and interval of m for every configuration,
// sorted by system, profile and size.
func (pd *PerfData) Estimates(m Metric, boot stats.BootstrapOptions) ([]Estimate, error) {
	vals, err := pd.RepValues(m)
	if err != nil {
		return nil, err
	}
	out := make([]Estimate, 0, len(vals))
	for cfg, xs := range vals {
		iv, err := stats.Bootstrap(xs, stats.Median, boot)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", cfg, m, err)
		}
		out = append(out, Estimate{Config: cfg, Reps: xs, Median: iv})
	}
	slices.SortFunc(out, func(a, b Estimate) int { return compareConfigs(a.Config, b.Config) })
	return out, nil
}

// withoutEmpty drops empty labels (no QPS profile, say), as CL2 omits them.
func withoutEmpty(labels map[string]string) map[string]string {
	for k, v := range labels {
		if v == "" {
			delete(labels, k)
		}
	}
	return labels
}
