package replay

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/trace"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestSummaryGolden pins the summary file's format and the metrics' inputs:
// under the artifact rules warm-up and singleton records are dropped, a
// timed-out record leaves the slowdown but stays in the scheduling latency.
func TestSummaryGolden(t *testing.T) {
	rec := func(inst, id string, resp, actual int64, failed bool) trace.Record {
		return trace.Record{Phase: 2, Instance: inst, InvocationID: id, RequestedDurationUs: actual,
			ResponseTimeUs: resp, ActualDurationUs: actual, FunctionTimeout: failed}
	}
	records := []trace.Record{
		rec("fn0-aa", "min0.inv0", 900_000, 100_000, false), // warm-up
		rec("fn0-aa", "min1.inv0", 150_000, 100_000, false),
		rec("fn0-aa", "min1.inv1", 110_000, 100_000, false),
		rec("fn1-bb", "min1.inv0", 2_000_000, 1_000_000, false),
		rec("fn1-bb", "min2.inv0", 1_200_000, 1_000_000, false),
		rec("fn1-bb", "min2.inv1", 30_000_000, 0, true),     // failed
		rec("fn2-cc", "min1.inv0", 500_000, 400_000, false), // singleton
	}
	acc := Accounting{Issued: 7, Completed: 6, Failed: map[string]int{"dispatch-timeout": 1}}
	perFunction := metrics.NewAccumulator(metrics.Artifact, "kn-model-kd", 1)
	for i := range records {
		perFunction.AddCSV(&records[i])
	}
	sum := Summarise("kn-model-kd", acc, perFunction, 3, 3, 1)
	sum.ResultCSV = "kn-model-kd_duration_3.csv"
	sum.FrontEnd = &FrontEndFacts{Knative: "model", Over: "kd", Real: []string{"autoscaler/kpa-decider: knative.dev/serving v0.42.2"},
		Modelled: []string{"activator: kdbench's gateway"}}
	t0 := time.Unix(1_700_000_000, 0)
	mem := SummariseMemory([]MemorySample{
		{At: t0, RSS: 100 * mib, Heap: 40 * mib, Components: map[string]uint64{"kube-apiserver": 300 * mib}},
		{At: t0.Add(time.Minute), RSS: 120 * mib, Heap: 60 * mib, Components: map[string]uint64{"kube-apiserver": 310 * mib}},
		{At: t0.Add(3 * time.Minute), RSS: 130 * mib, Heap: 50 * mib, Components: map[string]uint64{"kube-apiserver": 305 * mib}},
	}, t0.Add(time.Minute))
	mem.IntervalSeconds = 5
	sum.Memory = &mem
	got := filepath.Join(t.TempDir(), "summary.json")
	if err := WriteJSON(got, sum); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "summary.golden.json")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(want) {
		t.Errorf("summary:\n%s\nwant (%s):\n%s", b, golden, want)
	}
}

type describedSystem struct{ facts FrontEndFacts }

func (d describedSystem) FrontEndFacts() FrontEndFacts { return d.facts }

// TestFactsOf: a system's own facts go into the summary; one that states
// none is recorded as unknown, never as real.
func TestFactsOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		sys  any
		want FrontEndFacts
	}{
		{"described", describedSystem{FrontEndFacts{Knative: "v0.42.2 (Knative Serving 1.15)", Real: []string{"activator"}, Modelled: []string{}}},
			FrontEndFacts{Knative: "v0.42.2 (Knative Serving 1.15)", Real: []string{"activator"}, Modelled: []string{}}},
		{"silent", struct{}{}, FrontEndFacts{Modelled: []string{"unknown: the system does not state its components (replay.Describer)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := factsOf(tc.sys)
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("factsOf = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
