package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/metrics"
)

// Summary is one trial's outcome: the accounting and the papers' two
// per-function metrics (EXPERIMENTS.md, "End-to-end trace").
type Summary struct {
	System        string         `json:"system"`
	Functions     int            `json:"functions"`
	Minutes       int            `json:"minutes"`
	WarmupMinutes int            `json:"warmupMinutes"`
	Issued        int            `json:"issued"`
	Completed     int            `json:"completed"`
	Failed        map[string]int `json:"failed"`
	// Rules names the metric rule set (metrics.Rules) the two metrics
	// were computed under, and Percentiles the percentile rule.
	Rules       string `json:"rules"`
	Percentiles string `json:"percentiles"`
	// Per-function scheduling latency (ms) and slowdown, over functions.
	SchedulingLatencyMs Distribution `json:"schedulingLatencyMs"`
	Slowdown            Distribution `json:"slowdown"`
	// ResultCSV is the loader-format per-invocation file, relative to the
	// summary's directory.
	ResultCSV string `json:"resultCSV"`
	// PodsCSV, if the system ran pods, lists them in pods.csv's columns
	// (node, milestones), relative to the summary's directory.
	PodsCSV string `json:"podsCSV,omitempty"`
	// Memory is the harness's memory during the replay, if sampled.
	Memory *MemorySummary `json:"memory,omitempty"`
	// Cluster is the cluster the replay ran on, as the burst manifests
	// record it (QPS profile and how it is known, sandbox delay, nodes).
	Cluster *results.ClusterFacts `json:"cluster,omitempty"`
	// FrontEnd is what the system's front-end was made of: the Knative
	// version and which components were real or modelled.
	FrontEnd *FrontEndFacts `json:"frontEnd"`
	// ColdStarts is where the scale-ups from zero spent their time, for a
	// system that times them (ColdStartTimer: real Knative).
	ColdStarts *ColdStartBreakdown `json:"coldStarts,omitempty"`
}

// Distribution summarises per-function values and what was left out.
type Distribution struct {
	Functions int     `json:"functions"`
	P50       float64 `json:"p50"`
	P90       float64 `json:"p90"`
	P99       float64 `json:"p99"`
	Mean      float64 `json:"mean"`
	// Left out (metrics.PerFunction): warm-up, timed-out (slowdown),
	// below-one (slowdown), per-system-filtered and instance-less records,
	// and functions with a single invocation.
	Warmup     int `json:"warmupRecords"`
	Failed     int `json:"failedRecords"`
	BelowOne   int `json:"belowOneRecords"`
	Filtered   int `json:"filteredRecords"`
	NoFunction int `json:"noInstanceRecords"`
	Singletons int `json:"singletonFunctions"`
}

func distribution(p metrics.PerFunction) Distribution {
	d := Distribution{Functions: len(p.Functions), Warmup: p.Warmup, Failed: p.Failed, BelowOne: p.BelowOne,
		Filtered: p.Filtered, NoFunction: p.NoFunction, Singletons: p.Singletons}
	if len(p.Functions) > 0 {
		s := metrics.Summarize(p.Values())
		d.P50, d.P90, d.P99, d.Mean = s.P50, s.P90, s.P99, s.Mean
	}
	return d
}

// Summarise computes a trial's summary from its accumulated records.
func Summarise(system string, acc Accounting, records *metrics.Accumulator, functions, minutes, warmup int) Summary {
	return Summary{
		System: system, Functions: functions, Minutes: minutes, WarmupMinutes: warmup,
		Issued: acc.Issued, Completed: acc.Completed, Failed: acc.Failed,
		Rules: records.Rules().Name, Percentiles: metrics.PercentileRule,
		SchedulingLatencyMs: distribution(records.PerFunction(metrics.SchedulingLatency)),
		Slowdown:            distribution(records.PerFunction(metrics.Slowdown)),
	}
}

// WriteJSON writes v to path through a temporary file, so an interrupted
// run never leaves a half-written summary.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
