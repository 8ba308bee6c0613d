package results

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/kdbench/kdbench/internal/stats"
)

func findItem(t *testing.T, pd *PerfData, labels map[string]string) DataItem {
	t.Helper()
	var found []DataItem
	for _, it := range pd.DataItems {
		match := true
		for k, v := range labels {
			if it.Labels[k] != v {
				match = false
			}
		}
		if match {
			found = append(found, it)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d items match %v, want 1", len(found), labels)
	}
	return found[0]
}

// Ten pods Ready 100, 200, …, 1000 ms after the burst, the fourth never:
// over the nine observed, the artifact's p90 is index ⌊0.9·9⌋ = 8, 1000 ms,
// and p50 index ⌊0.5·9⌋ = 4, 600 ms.
func TestSummarizeKnownRepetition(t *testing.T) {
	m := Manifest{Experiment: "scale-pods", RepStatuses: []RepStatus{{RepID: RepID{System: "k8s", Size: 10, Rep: 0}, State: RepOK}}}
	var pods []PodRecord
	for i := 1; i <= 10; i++ {
		pods = append(pods, PodRecord{
			System: "k8s", Size: 10, Rep: 0,
			BurstStart: t0, RSScaled: t0 + 10*ms, Created: t0 + 20*ms, Bound: t0 + int64(i)*50*ms, Ready: t0 + int64(i)*100*ms,
		})
	}
	pods[3].Ready = 0 // one pod never became ready
	pd, err := Summarize(m, pods, stats.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e2e := findItem(t, pd, map[string]string{LabelMetric: "e2e", LabelRep: "0"})
	want := map[string]float64{KeyPerc50: 600, KeyPerc90: 1000, KeyPerc99: 1000, KeyMax: 1000, KeyCount: 9, KeyMissing: 1}
	for k, v := range want {
		if e2e.Data[k] != v {
			t.Errorf("e2e %s = %v, want %v", k, e2e.Data[k], v)
		}
	}
	if e2e.Unit != "ms" || e2e.Labels[LabelStatus] != "ok" || e2e.Labels[LabelWarmup] != "false" {
		t.Errorf("e2e item unit/labels = %q %v", e2e.Unit, e2e.Labels)
	}
	// The breakdown stacks up to the e2e value for every percentile.
	for _, key := range statKeys {
		var sum float64
		for _, st := range BreakdownStages {
			sum += findItem(t, pd, map[string]string{LabelMetric: BreakdownPrefix + st, LabelRep: "0"}).Data[key]
		}
		if math.Abs(sum-e2e.Data[key]) > 1e-9 {
			t.Errorf("breakdown %s sums to %v, e2e is %v", key, sum, e2e.Data[key])
		}
	}
	sched := findItem(t, pd, map[string]string{LabelMetric: BreakdownPrefix + "scheduler", LabelRep: "0"})
	if sched.Data[KeyPerc90] != 500-20 {
		t.Errorf("breakdown scheduler p90 = %v, want 480 (bound p90 500 − created 20)", sched.Data[KeyPerc90])
	}
	// One measured repetition: the aggregate is that value, zero-width.
	agg := findItem(t, pd, map[string]string{LabelMetric: "e2e", LabelAggregate: AggregateMedian})
	if agg.Data[KeyPerc90] != 1000 || agg.Data["Perc90Lo"] != 1000 || agg.Data["Perc90Hi"] != 1000 || agg.Data[KeyReps] != 1 {
		t.Errorf("aggregate = %v", agg.Data)
	}
}

// Warm-up, failed and unmarked repetitions appear per repetition but never
// in the aggregate.
func TestSummarizeExcludesWarmupFailedAndIncomplete(t *testing.T) {
	mk := func(rep int, warm bool, readyMs int64) []PodRecord {
		return []PodRecord{{System: "k8s", Size: 1, Rep: rep, Warmup: warm, BurstStart: t0, Ready: t0 + readyMs*ms}}
	}
	var pods []PodRecord
	pods = append(pods, mk(0, true, 9000)...) // warm-up
	pods = append(pods, mk(1, false, 100)...)
	pods = append(pods, mk(2, false, 7000)...) // failed
	pods = append(pods, mk(3, false, 300)...)
	pods = append(pods, mk(4, false, 8000)...) // never marked
	m := Manifest{Experiment: "x", RepStatuses: []RepStatus{
		{RepID: RepID{System: "k8s", Size: 1, Rep: 0, Warmup: true}, State: RepOK},
		{RepID: RepID{System: "k8s", Size: 1, Rep: 1}, State: RepOK},
		{RepID: RepID{System: "k8s", Size: 1, Rep: 2}, State: RepFailed, Reason: "timeout"},
		{RepID: RepID{System: "k8s", Size: 1, Rep: 3}, State: RepOK},
	}}
	pd, err := Summarize(m, pods, stats.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := findItem(t, pd, map[string]string{LabelMetric: "e2e", LabelRep: "4"}).Labels[LabelStatus]; st != string(RepIncomplete) {
		t.Errorf("unmarked repetition has status %q, want incomplete", st)
	}
	vals, err := pd.RepValues(Metric{"e2e", KeyPerc90})
	if err != nil {
		t.Fatal(err)
	}
	got := vals[Config{System: "k8s", Size: 1}]
	if len(got) != 2 || got[0] != 100 || got[1] != 300 {
		t.Errorf("measured values = %v, want [100 300]", got)
	}
	agg := findItem(t, pd, map[string]string{LabelMetric: "e2e", LabelAggregate: AggregateMedian})
	if agg.Data[KeyPerc90] != 200 || agg.Data[KeyReps] != 2 {
		t.Errorf("aggregate = %v, want median 200 of 2 reps", agg.Data)
	}
}

// summary.json's shape is ClusterLoader2's perfdata; the golden file pins
// it (labels, units, keys, numbers) for a scripted run.
func TestPerfDataGolden(t *testing.T) {
	fixedClock(t)
	m := testManifest()
	m.Sizes = []int{10}
	m.Systems = []string{"k8s"}
	m.Reps = 2
	r := writeRun(t, t.TempDir(), m, 1, true)
	pd, err := r.Summary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(pd, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden.json", append(got, '\n'))

	// Any CL2 perfdata reader sees the same document.
	var generic struct {
		Version   string `json:"version"`
		DataItems []struct {
			Data   map[string]float64 `json:"data"`
			Unit   string             `json:"unit"`
			Labels map[string]string  `json:"labels"`
		} `json:"dataItems"`
	}
	if err := json.Unmarshal(got, &generic); err != nil {
		t.Fatal(err)
	}
	if generic.Version != "1.0" || len(generic.DataItems) == 0 {
		t.Fatalf("version %q, %d items", generic.Version, len(generic.DataItems))
	}
	for _, it := range generic.DataItems {
		if it.Unit != "ms" || it.Labels["Metric"] == "" {
			t.Errorf("item without unit or Metric label: %+v", it)
		}
		for _, k := range []string{"Perc50", "Perc90", "Perc99"} {
			if _, ok := it.Data[k]; !ok {
				t.Errorf("item %v lacks %s", it.Labels, k)
			}
		}
	}
}

func TestParseMetric(t *testing.T) {
	tests := []struct {
		in      string
		want    Metric
		wantErr bool
	}{
		{"e2e_p90", Metric{"e2e", KeyPerc90}, false},
		{"e2e_p50", Metric{"e2e", KeyPerc50}, false},
		{"scheduler_p99", Metric{"scheduler", KeyPerc99}, false},
		{"breakdown_kubelet_max", Metric{"breakdown_kubelet", KeyMax}, false},
		{"e2e", Metric{}, true},
		{"e2e_p95", Metric{}, true},
		{"_p90", Metric{}, true},
	}
	for _, tt := range tests {
		got, err := ParseMetric(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMetric(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("Metric.String() = %q, want %q", got.String(), tt.in)
		}
	}
}

// A metric with ClusterLoader2's name takes CL2's percentile (index
// ⌈p·n⌉−1) and ends where CL2's does (status Running first seen); the
// paper's e2e takes the artifact's ⌊p·n⌋. With 100 pods Running at
// 10, 20, …, 1000 ms after creation and Ready 5 ms later, CL2's p99 is
// element 98 (990 ms), not the maximum; the artifact's e2e p99 is element
// 99, the maximum.
func TestSummarizePercentileRulesFollowTheNames(t *testing.T) {
	m := Manifest{Experiment: "scale-pods", RepStatuses: []RepStatus{{RepID: RepID{System: "k8s", Size: 100, Rep: 0}, State: RepOK}}}
	var pods []PodRecord
	for i := 1; i <= 100; i++ {
		run := t0 + int64(i)*10*ms
		pods = append(pods, PodRecord{System: "k8s", Size: 100, Rep: 0, BurstStart: t0, Created: t0, Scheduled: t0 + ms, Running: run, Ready: run + 5*ms})
	}
	pd, err := Summarize(m, pods, stats.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	startup := findItem(t, pd, map[string]string{LabelMetric: "pod_startup", LabelRep: "0"})
	if startup.Data[KeyPerc99] != 990 || startup.Data[KeyPerc50] != 500 || startup.Data[KeyPerc90] != 900 {
		t.Errorf("pod_startup p50/p90/p99 = %v/%v/%v, want CL2's 500/900/990", startup.Data[KeyPerc50], startup.Data[KeyPerc90], startup.Data[KeyPerc99])
	}
	if startup.Labels[LabelPercentile] != PercentileCL2 {
		t.Errorf("pod_startup percentile label %q", startup.Labels[LabelPercentile])
	}
	e2e := findItem(t, pd, map[string]string{LabelMetric: "e2e", LabelRep: "0"})
	if e2e.Data[KeyPerc99] != 1005 || e2e.Data[KeyPerc50] != 515 || e2e.Labels[LabelPercentile] != PercentileArtifact {
		t.Errorf("e2e p50/p99 = %v/%v (%s), want the artifact's 515/1005", e2e.Data[KeyPerc50], e2e.Data[KeyPerc99], e2e.Labels[LabelPercentile])
	}
}
