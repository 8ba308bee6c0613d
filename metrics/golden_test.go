package metrics

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/workloads/trace"
)

// artifactTree is a hand-made copy of the artifact's results layout; each
// file's rows are chosen to exercise one of plot.py's filters, and the
// expected per-function values below are worked out by hand from them.
var artifactTree = filepath.Join("testdata", "artifact", "trace", "results")

func load(t *testing.T, system, rel string) *Source {
	t.Helper()
	src := &Source{System: system}
	if err := src.Add(filepath.Join(artifactTree, rel)); err != nil {
		t.Fatal(err)
	}
	return src
}

// want is a metric's expected per-function values.
type want map[string]float64

func TestGoldenPerFunction(t *testing.T) {
	tests := []struct {
		name, system, file string
		rules              Rules
		format             Format
		slowdown, latency  want
		left               map[Metric]PerFunction // expected left-out counts
	}{{
		// Kn/K8s, loader CSV. tabc: min0 is warm-up; slowdowns 3 and 1.5
		// count, the function timeout (200) and 80/100 = 0.8 (< 1) do not;
		// its latency keeps the timeout: (200 + 50 + 20000 + 20) / 4.
		// tdef: "min05." is not plot.py's ^min[0-9]\. and stays: slowdowns
		// 2, 1, 4; latencies 1000, 0, 3000. tghi has one row after the
		// warm-up (a singleton); the connection timeout has no instance.
		name: "kn-k8s csv", system: "kn-k8s", file: "k8s/default/k8s.500.csv", rules: Artifact, format: CSV,
		slowdown: want{"tabc": (3 + 1.5) / 2, "tdef": (2.0 + 1 + 4) / 3},
		latency:  want{"tabc": (200 + 50 + 20000 + 20) / 4.0, "tdef": (1000 + 0 + 3000) / 3.0},
		left: map[Metric]PerFunction{
			Slowdown:          {Warmup: 2, Failed: 2, BelowOne: 1, Singletons: 1},
			SchedulingLatency: {Warmup: 2, NoFunction: 1, Singletons: 1},
		},
	}, {
		// kdbench's replays write CSVs for every system. plot.py's Kn/Kd
		// filter (Delay > 8000 ms) is on its log path only: the same rows
		// as Kn/Kd's CSV keep the 20000 ms timeout in the latency.
		name: "kn-kd csv", system: "kn-kd", file: "k8s/default/k8s.500.csv", rules: Artifact, format: CSV,
		slowdown: want{"tabc": (3 + 1.5) / 2, "tdef": (2.0 + 1 + 4) / 3},
		latency:  want{"tabc": (200 + 50 + 20000 + 20) / 4.0, "tdef": (1000 + 0 + 3000) / 3.0},
		left: map[Metric]PerFunction{
			Slowdown:          {Warmup: 2, Failed: 2, BelowOne: 1, Singletons: 1},
			SchedulingLatency: {Warmup: 2, NoFunction: 1, Singletons: 1},
		},
	}, {
		// Dirigent, loader CSV: its latency keeps only values < 1500 ms
		// (2000 and 1500 go); the timeout stays in the latency, leaves the
		// slowdown.
		name: "dirigent csv", system: "dirigent", file: "dirigent/default/dirigent.500.csv", rules: Artifact, format: CSV,
		slowdown: want{"tq1": (2.5 + 21 + 16) / 3, "tq2": (1.5 + 2.5) / 2},
		latency:  want{"tq1": (150 + 1000) / 2.0, "tq2": (100 + 300) / 2.0},
		left: map[Metric]PerFunction{
			Slowdown:          {Failed: 1},
			SchedulingLatency: {Filtered: 2},
		},
	}, {
		// The same file under Dirigent's own script: geometric mean over
		// every row (timeout included), no latency filter.
		name: "dirigent csv, dirigent rules", system: "dirigent", file: "dirigent/default/dirigent.500.csv", rules: Dirigent, format: CSV,
		slowdown: want{"tq1": math.Pow(2.5*21*16*10, 0.25), "tq2": math.Sqrt(1.5 * 2.5)},
		latency:  want{"tq1": (150 + 2000 + 1500 + 1000) / 4.0, "tq2": (100 + 300) / 2.0},
		left:     map[Metric]PerFunction{Slowdown: {}, SchedulingLatency: {}},
	}, {
		// Kn/Kd, driver log: TS 100 s is warm-up; Delay 9000 > 8000 goes
		// from both metrics, 8000 stays; (0.5 + 90) / 100 < 1 leaves the
		// slowdown only; trace-2 is a singleton; the "Delay: N/A" line and
		// the summary line do not match and are skipped.
		name: "kn-kd log", system: "kn-kd", file: "kd/run1/kd.500.log", rules: Artifact, format: Log,
		slowdown: want{"trace-0": ((50+100)/100.0 + (8000+100)/100.0) / 2, "trace-1": ((20+1000)/1000.0 + (40+1000)/1000.0) / 2},
		latency:  want{"trace-0": (50 + 8000 + 0.5) / 3, "trace-1": (20 + 40) / 2.0},
		left: map[Metric]PerFunction{
			Slowdown:          {Warmup: 1, Filtered: 1, BelowOne: 1, Singletons: 1},
			SchedulingLatency: {Warmup: 1, Filtered: 1, Singletons: 1},
		},
	}, {
		// Dr/K8s+, driver log: no Delay filter (9000 stays); TS 599.999 is
		// warm-up, TS 600 is not.
		name: "dr-k8s+ log", system: "dr-k8s+", file: "k8s+/run1/k8s+.500.log", rules: Artifact, format: Log,
		slowdown: want{"trace-5": ((9000+100)/100.0 + (100+100)/100.0) / 2, "trace-6": ((300+200)/200.0 + (100+200)/200.0) / 2},
		latency:  want{"trace-5": (9000 + 100) / 2.0, "trace-6": (300 + 100) / 2.0},
		left:     map[Metric]PerFunction{Slowdown: {Warmup: 1}, SchedulingLatency: {Warmup: 1}},
	}, {
		name: "dr-kd+ log", system: "dr-kd+", file: "kd+/run1/kd+.500.log", rules: Artifact, format: Log,
		slowdown: want{"trace-5": ((10+100)/100.0 + (30+100)/100.0) / 2, "trace-6": ((2+200)/200.0 + (4+200)/200.0) / 2},
		latency:  want{"trace-5": (10 + 30) / 2.0, "trace-6": (2 + 4) / 2.0},
		left:     map[Metric]PerFunction{Slowdown: {}, SchedulingLatency: {}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := load(t, tt.system, tt.file)
			if src.Format != tt.format {
				t.Fatalf("format %s, want %s", src.Format, tt.format)
			}
			got := Compute(tt.rules, src, 10)
			for m, w := range map[Metric]want{Slowdown: tt.slowdown, SchedulingLatency: tt.latency} {
				pf := got[m]
				if len(pf.Functions) != len(w) {
					t.Errorf("%s: functions %+v, want %v", m, pf.Functions, w)
				}
				for _, f := range pf.Functions {
					if wv, ok := w[f.Function]; !ok || math.Abs(f.Value-wv) > 1e-9*math.Max(1, math.Abs(wv)) {
						t.Errorf("%s of %s = %v, want %v (present %v)", m, f.Function, f.Value, wv, ok)
					}
				}
				l := tt.left[m]
				if pf.Warmup != l.Warmup || pf.Failed != l.Failed || pf.BelowOne != l.BelowOne || pf.Filtered != l.Filtered ||
					pf.NoFunction != l.NoFunction || pf.Singletons != l.Singletons {
					t.Errorf("%s left out %s, want warm-up %d, timed out %d, below 1 %d, filtered %d, no instance %d, singletons %d",
						m, pf.Describe(), l.Warmup, l.Failed, l.BelowOne, l.Filtered, l.NoFunction, l.Singletons)
				}
			}
		})
	}
}

// TestTableFromArtifactTree reads the whole tree as `kdbench trace metrics`
// does and prints the p50 and p99 over the two functions of each system:
// with two values pandas gives p50 = (a+b)/2 and p99 = a + 0.99·(b−a),
// e.g. Kn/K8s latency 4000/3 + 0.99·(5067.5 − 4000/3) = 5030.1583.
func TestTableFromArtifactTree(t *testing.T) {
	var srcs []*Source
	for rel, sys := range map[string]string{"k8s/default/k8s.500.csv": "kn-k8s", "kd/run1/kd.500.log": "kn-kd",
		"dirigent/default/dirigent.500.csv": "dirigent", "k8s+/run1/k8s+.500.log": "dr-k8s+", "kd+/run1/kd+.500.log": "dr-kd+"} {
		if got := ArtifactTraceSystem(rel); got != sys {
			t.Errorf("ArtifactTraceSystem(%s) = %q, want %q", rel, got, sys)
		}
		srcs = append(srcs, load(t, sys, rel))
	}
	var b bytes.Buffer
	if err := WriteTable(&b, Artifact, srcs, 10); err != nil {
		t.Fatal(err)
	}
	want := `system,metric,functions,p50,p99
kn-k8s,slowdown,2,2.2917,2.3325
kn-k8s,scheduling_latency_ms,2,3200.4167,5030.1583
kn-kd,slowdown,2,21.1400,40.8478
kn-kd,scheduling_latency_ms,2,1356.7500,2656.9650
dirigent,slowdown,2,7.5833,13.0550
dirigent,scheduling_latency_ms,2,387.5000,571.2500
dr-k8s+,slowdown,2,24.2500,46.0550
dr-k8s+,scheduling_latency_ms,2,2375.0000,4506.5000
dr-kd+,slowdown,2,1.1075,1.1982
dr-kd+,scheduling_latency_ms,2,11.5000,19.8300
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestFunctionOf(t *testing.T) {
	tests := []struct {
		instance      string
		slowdown, lat string
	}{
		// The artifact's loader (t<hash18>-<n>) and its Knative pods.
		{"t1a2b3c4d5e6f7a8b9c-4242", "t1a2b3c4d5e6f7a8b9c", "t1a2b3c4d5e6f7a8b9c"},
		{"t1a2b3c4d5e6f7a8b9c-4242-00001-deployment-7c9f5d-xk2lp", "t1a2b3c4d5e6f7a8b9c", "t1a2b3c4d5e6f7a8b9c"},
		// The current loader: trace-func-<i>-<uint64>, and its pods.
		{"trace-func-3-2642643831809466437", "trace-func-3", "trace-func-3"},
		{"trace-func-3-2642643831809466437-00001-deployment-abc-xyz12", "trace-func-3", "trace-func-3"},
		// kdbench's replay: fn<row>-<hash prefix>, hex or all digits.
		{"fn003-ab12cd34", "fn003", "fn003"},
		{"fn003-12345678", "fn003", "fn003"},
		// plot.py's rules as they stand for anything else: the slowdown
		// splits at the first '-', the latency strips a numeric suffix.
		{"myfn-abc", "myfn", "myfn-abc"},
		{"", "", ""},
		{"NA", "", ""},
	}
	for _, tt := range tests {
		if got := FunctionOf(tt.instance, Slowdown); got != tt.slowdown {
			t.Errorf("FunctionOf(%q, slowdown) = %q, want %q", tt.instance, got, tt.slowdown)
		}
		if got := FunctionOf(tt.instance, SchedulingLatency); got != tt.lat {
			t.Errorf("FunctionOf(%q, latency) = %q, want %q", tt.instance, got, tt.lat)
		}
	}
}

func TestInWarmup(t *testing.T) {
	for id, want := range map[string]bool{"min0.inv1": true, "min9.inv0": true, "min10.inv0": false, "min05.inv0": false,
		"sec3.inv0": true, "sec12.inv0": false, "x.inv0": false, "min.inv0": false, "min3": false} {
		if got := InWarmup(id, 10); got != want {
			t.Errorf("InWarmup(%q, 10) = %v, want %v", id, got, want)
		}
	}
}

func TestReadLogErrors(t *testing.T) {
	_, err := readLog(strings.NewReader("\ufeffnot a log line\n"), "/x/kd.500.log")
	if err == nil || !strings.Contains(err.Error(), "/x/kd.500.log") || !strings.Contains(err.Error(), "byte-order mark") {
		t.Errorf("error %v: want the path and the byte-order mark named", err)
	}
	_, err = readLog(strings.NewReader("ID: default/trace-99999999999999999999-0/1, TS: 700.0s, Delay: +1.0ms, Runtime: 1.0/1ms\n"), "/x/kd.500.log")
	if err == nil || !strings.HasPrefix(err.Error(), "/x/kd.500.log:1:") {
		t.Errorf("error %v: want path and line", err)
	}
}

func TestReadTotal(t *testing.T) {
	p := filepath.Join("testdata", "artifact", "microbench", "results", "scale-pods", "run1", "e2e.kd.100.log")
	f, ok := ArtifactMicrobench(p)
	if !ok || f.Experiment != "scale-pods" || f.Kind != "e2e" || f.Baseline != "kd" || f.Scale != 100 {
		t.Fatalf("ArtifactMicrobench(%s) = %+v, %v", p, f, ok)
	}
	us, err := ReadTotal(p)
	if err != nil || us != 500000 {
		t.Fatalf("ReadTotal = %d, %v; want 500000", us, err)
	}
}

// A kdbench replay's CSV is read with the warm-up its summary records: a
// second-granularity kick-the-tires replay (warm-up 0, columns sec0…sec5)
// keeps every invocation although the default warm-up is 10.
func TestReplaySummaryWarmup(t *testing.T) {
	dir := t.TempDir()
	csv := strings.Join([]string{strings.Join(trace.ResultColumns, ","),
		"2,fn0-ab,sec0.inv0,1,100000,0,150000,100000,false,false,0,false,0,0,0",
		"2,fn0-ab,sec5.inv1,1,100000,0,250000,100000,false,false,0,false,0,0,0"}, "\n") + "\n"
	mustWrite(t, filepath.Join(dir, "kn-kd_duration_6.csv"), csv)
	mustWrite(t, filepath.Join(dir, "kn-kd_summary.json"), `{"system": "kn-kd", "warmupMinutes": 0, "resultCSV": "kn-kd_duration_6.csv"}`)
	src := &Source{System: "kn-kd"}
	if err := src.Add(filepath.Join(dir, "kn-kd_duration_6.csv")); err != nil {
		t.Fatal(err)
	}
	got := Compute(Artifact, src, 10)[Slowdown]
	if len(got.Functions) != 1 || got.Functions[0].Value != (1.5+2.5)/2 || got.Warmup != 0 {
		t.Fatalf("slowdown %+v (%s), want fn0 = 2 with no warm-up dropped", got.Functions, got.Describe())
	}
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
