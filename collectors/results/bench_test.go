package results

import (
	"testing"

	"github.com/kdbench/kdbench/internal/stats"
)

// BenchmarkAppendPods measures writing one 10 000-pod repetition (the
// largest scale-nodes burst) onto a pods.csv that already holds five.
func BenchmarkAppendPods(b *testing.B) {
	m := testManifest()
	m.Sizes = nil
	r, err := Create(b.TempDir(), m)
	if err != nil {
		b.Fatal(err)
	}
	pods := synthPods(10000, 1)
	for rep := 0; rep < 5; rep++ {
		if err := r.AppendPods(RepID{System: "k8s", Size: 10000, Rep: rep}, pods); err != nil {
			b.Fatal(err)
		}
	}
	rep := 5
	for b.Loop() {
		if err := r.AppendPods(RepID{System: "k8s", Size: 10000, Rep: rep}, pods); err != nil {
			b.Fatal(err)
		}
		rep++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/pod")
}

// BenchmarkSummarize measures summarising 2 systems × 2 sizes × 6
// repetitions of 600 pods, bootstrap included.
func BenchmarkSummarize(b *testing.B) {
	m := testManifest()
	var pods []PodRecord
	for _, sys := range m.Systems {
		for _, size := range []int{100, 600} {
			for rep := 0; rep < 6; rep++ {
				id := RepID{System: sys, Size: size, Rep: rep, Warmup: rep == 0}
				m.RepStatuses = append(m.RepStatuses, RepStatus{RepID: id, State: RepOK})
				for _, p := range synthPods(size, 1+0.1*float64(rep)) {
					p.System, p.Size, p.Rep, p.Warmup = sys, size, rep, rep == 0
					pods = append(pods, p)
				}
			}
		}
	}
	for b.Loop() {
		if _, err := Summarize(m, pods, stats.DefaultBootstrap); err != nil {
			b.Fatal(err)
		}
	}
}
