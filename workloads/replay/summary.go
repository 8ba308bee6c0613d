package replay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/workloads/trace"
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
	// Per-function scheduling latency (ms) and slowdown, over functions.
	SchedulingLatencyMs Distribution `json:"schedulingLatencyMs"`
	Slowdown            Distribution `json:"slowdown"`
	// ResultCSV is the loader-format per-invocation file, relative to the
	// summary's directory.
	ResultCSV string `json:"resultCSV"`
	// Memory is the harness's memory during the replay, if sampled.
	Memory *MemorySummary `json:"memory,omitempty"`
	// Cluster is the cluster the replay ran on, as the burst manifests
	// record it (QPS profile and how it is known, sandbox delay, nodes).
	Cluster *results.ClusterFacts `json:"cluster,omitempty"`
}

// Distribution summarises per-function values and what was left out.
type Distribution struct {
	Functions int     `json:"functions"`
	P50       float64 `json:"p50"`
	P90       float64 `json:"p90"`
	P99       float64 `json:"p99"`
	Mean      float64 `json:"mean"`
	// Dropped records: warm-up, failed, below one (slowdown), and functions
	// with a single invocation.
	Warmup     int `json:"warmupRecords"`
	Failed     int `json:"failedRecords"`
	BelowOne   int `json:"belowOneRecords"`
	Singletons int `json:"singletonFunctions"`
}

func distribution(p trace.PerFunction) Distribution {
	d := Distribution{Functions: len(p.Functions), Warmup: p.Warmup, Failed: p.Failed, BelowOne: p.BelowOne, Singletons: p.Singletons}
	if s, err := stats.Percentiles(p.Values()); err == nil {
		d.P50, d.P90, d.P99, d.Mean = s.P50, s.P90, s.P99, s.Mean
	}
	return d
}

// Summarise computes a trial's summary from its accumulated records.
func Summarise(system string, acc Accounting, records *trace.Accumulator, functions, minutes, warmup int) Summary {
	return Summary{
		System: system, Functions: functions, Minutes: minutes, WarmupMinutes: warmup,
		Issued: acc.Issued, Completed: acc.Completed, Failed: acc.Failed,
		SchedulingLatencyMs: distribution(records.SchedulingLatency()),
		Slowdown:            distribution(records.Slowdown()),
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
