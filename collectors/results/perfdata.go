package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PerfDataVersion is ClusterLoader2's perfdata format version, which
// summary.json follows so that CL2 tooling (perfdash, its scripts) can read it.
const PerfDataVersion = "1.0"

// PerfData is ClusterLoader2's perfdata document.
type PerfData struct {
	Version   string     `json:"version"`
	DataItems []DataItem `json:"dataItems"`
}

// DataItem is one measurement with its unit and identifying labels.
type DataItem struct {
	Data   map[string]float64 `json:"data"`
	Unit   string             `json:"unit"`
	Labels map[string]string  `json:"labels,omitempty"`
}

// Label keys of summary.json items. Per-repetition items carry Rep, Warmup
// and Status; the items aggregated over measured repetitions carry
// Aggregate instead.
const (
	LabelMetric     = "Metric"
	LabelExperiment = "Experiment"
	LabelSystem     = "System"
	LabelQPSProfile = "QPSProfile"
	LabelSize       = "Size"
	LabelRep        = "Rep"
	LabelWarmup     = "Warmup"
	LabelStatus     = "Status"
	LabelAggregate  = "Aggregate"
	// LabelPercentile names the rule of the item's Perc* keys
	// (PercentileCL2 or PercentileArtifact).
	LabelPercentile = "Percentile"
)

// AggregateMedian is the Aggregate label of items that hold, for each data
// key, the median over measured repetitions and its bootstrap interval
// (keys Perc90, Perc90Lo, Perc90Hi, …, and Reps).
const AggregateMedian = "median_of_reps"

// Data keys of per-repetition items, all in milliseconds except the counts.
const (
	KeyPerc50  = "Perc50"
	KeyPerc90  = "Perc90"
	KeyPerc99  = "Perc99"
	KeyMax     = "Max"
	KeyCount   = "Count"
	KeyMissing = "Missing"
	KeyReps    = "Reps"
)

// statKeys are the per-repetition data keys that are aggregated over reps.
var statKeys = []string{KeyPerc50, KeyPerc90, KeyPerc99, KeyMax}

// Metric names one number per repetition: a Metric label and a data key,
// written on the command line as e2e_p90, scheduler_p50 or
// breakdown_kubelet_max.
type Metric struct {
	Name string // the Metric label, e.g. e2e
	Key  string // the data key, e.g. Perc90
}

var metricSuffixes = map[string]string{"p50": KeyPerc50, "p90": KeyPerc90, "p99": KeyPerc99, "max": KeyMax}

// ParseMetric parses "<metric>_<p50|p90|p99|max>".
func ParseMetric(s string) (Metric, error) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 {
		return Metric{}, fmt.Errorf("metric %q: want <name>_<p50|p90|p99|max>, e.g. e2e_p90", s)
	}
	key, ok := metricSuffixes[s[i+1:]]
	if !ok {
		return Metric{}, fmt.Errorf("metric %q: unknown statistic %q, want p50, p90, p99 or max", s, s[i+1:])
	}
	return Metric{Name: s[:i], Key: key}, nil
}

func (m Metric) String() string {
	for suffix, key := range metricSuffixes {
		if key == m.Key {
			return m.Name + "_" + suffix
		}
	}
	return m.Name + "." + m.Key
}

// Config is one point of an experiment: a system (under a QPS profile) at a size.
type Config struct {
	System     string
	QPSProfile string
	Size       int
}

func (c Config) String() string {
	if c.QPSProfile == "" {
		return fmt.Sprintf("%s size %d", c.System, c.Size)
	}
	return fmt.Sprintf("%s (%s) size %d", c.System, c.QPSProfile, c.Size)
}

func compareConfigs(a, b Config) int {
	if c := strings.Compare(a.System, b.System); c != 0 {
		return c
	}
	if c := strings.Compare(a.QPSProfile, b.QPSProfile); c != 0 {
		return c
	}
	return a.Size - b.Size
}

// itemConfig reads an item's configuration labels.
func itemConfig(it DataItem) (Config, error) {
	size, err := strconv.Atoi(it.Labels[LabelSize])
	if err != nil {
		return Config{}, fmt.Errorf("item %s: label %s=%q is not an integer", it.Labels[LabelMetric], LabelSize, it.Labels[LabelSize])
	}
	return Config{System: it.Labels[LabelSystem], QPSProfile: it.Labels[LabelQPSProfile], Size: size}, nil
}

// isMeasuredRep reports whether an item is one measured, successful
// repetition: the only ones statistics are made of.
func isMeasuredRep(it DataItem) bool {
	return it.Labels[LabelRep] != "" && it.Labels[LabelWarmup] == "false" && it.Labels[LabelStatus] == string(RepOK)
}

// RepValues returns, per configuration, the metric's value in each measured
// successful repetition, in repetition order. It fails, listing what is
// there, when the summary has no such metric at all.
func (pd *PerfData) RepValues(m Metric) (map[Config][]float64, error) {
	type rv struct {
		rep int
		v   float64
	}
	byConfig := map[Config][]rv{}
	names := map[string]bool{}
	found := false
	for _, it := range pd.DataItems {
		if it.Labels[LabelRep] == "" {
			continue
		}
		names[it.Labels[LabelMetric]] = true
		if it.Labels[LabelMetric] != m.Name {
			continue
		}
		found = true
		if !isMeasuredRep(it) {
			continue
		}
		v, ok := it.Data[m.Key]
		if !ok {
			continue
		}
		cfg, err := itemConfig(it)
		if err != nil {
			return nil, err
		}
		rep, err := strconv.Atoi(it.Labels[LabelRep])
		if err != nil {
			return nil, fmt.Errorf("item %s: label %s=%q is not an integer", m.Name, LabelRep, it.Labels[LabelRep])
		}
		byConfig[cfg] = append(byConfig[cfg], rv{rep, v})
	}
	if !found {
		var have []string
		for n := range names {
			have = append(have, n)
		}
		slices.Sort(have)
		return nil, fmt.Errorf("no per-repetition metric %q in the summary (have: %s)", m.Name, strings.Join(have, ", "))
	}
	out := make(map[Config][]float64, len(byConfig))
	for cfg, rvs := range byConfig {
		slices.SortFunc(rvs, func(a, b rv) int { return a.rep - b.rep })
		vals := make([]float64, len(rvs))
		for i, r := range rvs {
			vals[i] = r.v
		}
		out[cfg] = vals
	}
	return out, nil
}
