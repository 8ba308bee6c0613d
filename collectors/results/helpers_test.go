package results

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

const ms = int64(time.Millisecond)

// t0 is an arbitrary burst start, in Unix ns.
const t0 = int64(1_700_000_000_000_000_000)

// synthPods scripts one repetition: pod i of n passes the four hops with
// delays that grow with i, scaled by speed (1 = the baseline system). Every
// timestamp is exact, so percentiles are known in advance.
func synthPods(n int, speed float64) []PodRecord {
	pods := make([]PodRecord, n)
	d := func(x float64) int64 { return int64(x * speed * float64(ms)) }
	for i := range pods {
		f := float64(i + 1)
		p := PodRecord{
			Namespace: "bench", Function: "fn-0", Pod: fmt.Sprintf("fn-0-%03d", i), Node: fmt.Sprintf("node-%d", i%3),
			BurstStart: t0,
			RSScaled:   t0 + d(5),
		}
		p.Created = p.RSScaled + d(2*f)
		p.Scheduled = p.Created + d(3*f)
		p.Bound = p.Scheduled + d(1)
		p.Running = p.Bound + d(200)
		p.Ready = p.Running + d(4)
		pods[i] = p
	}
	return pods
}

// fixedClock makes Create, MarkRep and Finish reproducible.
func fixedClock(t *testing.T) {
	t.Helper()
	orig := now
	tick := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	now = func() time.Time { tick = tick.Add(time.Second); return tick }
	t.Cleanup(func() { now = orig })
}

func testManifest() Manifest {
	return Manifest{
		Kdbench:    Build{Version: "v0.1.0-test", Revision: "abc123"},
		Experiment: "scale-pods",
		SizeUnit:   "pods",
		Systems:    []string{"k8s", "k8s+"},
		Sizes:      []int{10, 20},
		Reps:       3,
		WarmupReps: 1,
		Seed:       42,
		Clusters: []ClusterFacts{{
			Provider: "local", Nodes: 3, QPSProfile: "default",
			Components: map[string]string{"kube-apiserver": "v1.32.13"},
			Flags:      map[string][]string{"kube-controller-manager": {"--kube-api-qps=20"}},
		}},
		Machine: MachineFacts{Hostname: "test", CPUs: 2, MemoryBytes: 1 << 30, OS: "linux", Arch: "amd64", GoVersion: "go1.26"},
	}
}

// speeds gives each system's slowdown factor in the scripted runs.
var speeds = map[string]float64{"k8s": 1, "k8s+": 0.5}

// writeRun creates and (if finish) finishes a run with every system × size
// × (1 warm-up + 3) repetitions; slow multiplies every delay of system k8s+.
func writeRun(t *testing.T, root string, m Manifest, slow float64, finish bool) *Run {
	t.Helper()
	r, err := Create(root, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, sys := range m.Systems {
		for _, size := range m.Sizes {
			for rep := 0; rep < m.WarmupReps+m.Reps; rep++ {
				id := RepID{System: sys, Size: size, Rep: rep, Warmup: rep < m.WarmupReps}
				speed := speeds[sys] * (1 + 0.1*float64(rep%3)) // reps differ a little
				if sys == "k8s+" {
					speed *= slow
				}
				if err := r.AppendPods(id, synthPods(size, speed)); err != nil {
					t.Fatal(err)
				}
				if err := r.MarkRep(id, RepOK, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if finish {
		if err := r.Finish(nil); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\n--- got\n%s", path, got)
	}
}
