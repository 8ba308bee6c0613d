package replay

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
)

func TestSummariseMemory(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }
	cases := []struct {
		name             string
		samples          []MemorySample
		from             time.Time
		peak, peakHeap   uint64
		startRSS, endRSS uint64
		growthPerMin     float64
		components       map[string]uint64
	}{
		{name: "none", from: t0},
		{
			name:    "one sample",
			samples: []MemorySample{{At: t0, RSS: 10, Heap: 5}},
			from:    at(2), peak: 10, peakHeap: 5, startRSS: 10, endRSS: 10,
		},
		{
			// The warm-up's peak counts for the peak, not for the growth.
			name: "growth over the measured window only",
			samples: []MemorySample{
				{At: at(0), RSS: 100, Heap: 9}, {At: at(1), RSS: 500, Heap: 1},
				{At: at(2), RSS: 200, Heap: 2}, {At: at(4), RSS: 260, Heap: 3},
			},
			from: at(1.5), peak: 500, peakHeap: 9, startRSS: 200, endRSS: 260, growthPerMin: 30,
		},
		{
			name: "shrinking and components",
			samples: []MemorySample{
				{At: at(0), RSS: 300, Components: map[string]uint64{"etcd": 5, "kube-apiserver": 9}},
				{At: at(2), RSS: 100, Components: map[string]uint64{"etcd": 7, "kube-apiserver": 1}},
			},
			from: t0, peak: 300, startRSS: 300, endRSS: 100, growthPerMin: -100,
			components: map[string]uint64{"etcd": 7, "kube-apiserver": 9},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SummariseMemory(c.samples, c.from)
			if got.Samples != len(c.samples) || got.PeakRSSBytes != c.peak || got.PeakHeapBytes != c.peakHeap ||
				got.RSSAtMeasuredStartBytes != c.startRSS || got.RSSAtEndBytes != c.endRSS || got.RSSGrowthBytesPerMinute != c.growthPerMin {
				t.Errorf("got %+v", got)
			}
			if len(got.ComponentsPeakRSSBytes) != len(c.components) {
				t.Errorf("components %v, want %v", got.ComponentsPeakRSSBytes, c.components)
			}
			for k, v := range c.components {
				if got.ComponentsPeakRSSBytes[k] != v {
					t.Errorf("component %s peak %d, want %d", k, got.ComponentsPeakRSSBytes[k], v)
				}
			}
		})
	}
}

// The sampler reads once at start, once per tick and once at stop, and
// counts the readings it could not take.
func TestMemorySampler(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	var mu sync.Mutex
	reads := 0
	m := &MemorySampler{Interval: 5 * time.Second, Clock: clk, Read: func() (MemorySample, error) {
		mu.Lock()
		defer mu.Unlock()
		reads++
		if reads == 3 {
			return MemorySample{}, errors.New("no /proc")
		}
		return MemorySample{RSS: uint64(reads) * 100, Heap: 1}, nil
	}}
	m.Start()
	start := clk.Now()
	for i := 0; i < 4; i++ {
		waitFor(t, func() bool { return clk.HasWaiters() })
		before := readsNow(&mu, &reads)
		clk.Step(5 * time.Second)
		waitFor(t, func() bool { return readsNow(&mu, &reads) > before })
	}
	got := m.Stop(start.Add(10 * time.Second))
	// Reads 1 (start), 2..5 (ticks; 3 failed and is dropped), 6 (stop) at 0,
	// 5, 10, 15, 20, 20 s; the measured window starts at the 15 s sample.
	if got.Samples != 5 || got.ReadErrors != 1 || got.PeakRSSBytes != 600 || got.RSSAtMeasuredStartBytes != 400 ||
		got.RSSAtEndBytes != 600 || got.IntervalSeconds != 5 {
		t.Errorf("got %+v", got)
	}
	if want := 200.0 / (5.0 / 60); got.RSSGrowthBytesPerMinute != want {
		t.Errorf("growth %v B/min, want %v", got.RSSGrowthBytesPerMinute, want)
	}
}

func readsNow(mu *sync.Mutex, n *int) int {
	mu.Lock()
	defer mu.Unlock()
	return *n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting")
		case <-time.After(time.Millisecond):
		}
	}
}

func TestProcessMemoryReadsThisProcess(t *testing.T) {
	s, err := ProcessMemory(func() (map[string]uint64, error) { return map[string]uint64{"etcd": 1}, nil })()
	if err != nil {
		t.Skipf("no /proc/self/status here: %v", err)
	}
	if s.RSS < 1<<20 || s.Heap == 0 || s.Components["etcd"] != 1 {
		t.Errorf("sample %+v", s)
	}
}

func TestParseVmRSS(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{in: "Name:\tkdbench\nVmPeak:\t  9 kB\nVmRSS:\t  2048 kB\nThreads: 3\n", want: 2 << 20},
		{in: "VmRSS: 0 kB\n", want: 0},
		{in: "Name: kernel-thread\n", wantErr: true},
		{in: "VmRSS: lots kB\n", wantErr: true},
	} {
		got, err := parseVmRSS(strings.NewReader(c.in), "status")
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%q: got %d, %v; want %d, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

// procSystem is a system running one OS process of its own (this test's).
type procSystem struct{ baselines.System }

func (procSystem) Processes() map[string]int {
	return map[string]int{"kd-nodeagent": os.Getpid(), "kd-gone": -1}
}

type rssProvider struct{ clusters.Provider }

func (rssProvider) RSSBytes(string) (map[string]uint64, error) {
	return map[string]uint64{"etcd": 7}, nil
}

func TestComponentsCountSystemProcesses(t *testing.T) {
	env := baselines.Env{Cluster: &clusters.Cluster{Name: "c"}}
	for _, c := range []struct {
		name     string
		provider clusters.Provider
		system   baselines.System
		want     []string
	}{
		{"neither", nil, nil, nil},
		{"cluster only", rssProvider{}, nil, []string{"etcd"}},
		{"system only", nil, procSystem{}, []string{"kd-nodeagent"}},
		{"both", rssProvider{}, procSystem{}, []string{"etcd", "kd-nodeagent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			read := Experiment{Provider: c.provider}.components(env, c.system)
			if c.want == nil {
				if read != nil {
					t.Fatal("a reader with nothing to read")
				}
				return
			}
			got, err := read()
			if err != nil {
				t.Fatal(err)
			}
			names := slices.Sorted(maps.Keys(got))
			if !slices.Equal(names, c.want) {
				t.Fatalf("components %v, want %v (a process that is gone is left out)", names, c.want)
			}
			if v, ok := got["kd-nodeagent"]; ok && v < 1<<20 {
				t.Errorf("kd-nodeagent RSS %d bytes: not this process's", v)
			}
		})
	}
}

// OnPeak fires for the first heap and for each one 10% above the last it
// fired for, not for every small rise.
func TestMemorySamplerOnPeak(t *testing.T) {
	heaps := []uint64{100, 105, 110, 121, 50, 132, 200}
	i := 0
	var fired []uint64
	m := &MemorySampler{Clock: clocktesting.NewFakeClock(time.Unix(0, 0)),
		Read: func() (MemorySample, error) {
			h := heaps[i]
			i++
			return MemorySample{RSS: 1, Heap: h}, nil
		},
		OnPeak: func(s MemorySample) { fired = append(fired, s.Heap) }}
	for range heaps {
		m.sample()
	}
	if want := []uint64{100, 110, 121, 200}; !slices.Equal(fired, want) {
		t.Errorf("OnPeak fired for heaps %v, want %v", fired, want)
	}
}

func TestHeapProfilerWritesAProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kn-model-kd_heap.pprof")
	var log strings.Builder
	heapProfiler(path, &log)(MemorySample{})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof's format: gzipped protobuf
		t.Errorf("not a pprof profile: % x", b[:min(len(b), 8)])
	}
	heapProfiler(filepath.Join(path, "not-a-dir", "x"), &log)(MemorySample{})
	if !strings.Contains(log.String(), "warning: heap profile") {
		t.Errorf("an unwritable profile is not reported: %q", log.String())
	}
}
