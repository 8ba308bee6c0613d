package plots

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/results/resultstest"
)

var start = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func manifest(experiment, unit string, sizes []int) results.Manifest {
	return results.Manifest{
		Kdbench:    results.Build{Version: "test", Revision: "test"},
		Experiment: experiment, SizeUnit: unit,
		Systems: []string{"k8s", "kd"}, Sizes: sizes, Reps: 3, WarmupReps: 1,
		Machine: results.MachineFacts{Hostname: "test"},
		Start:   start,
	}
}

// speed makes kd about 4× faster than k8s, with repetitions 10 % apart.
func speed(id results.RepID) float64 {
	s := 1 + 0.1*float64(id.Rep%3)
	if id.System == "kd" {
		s /= 4
	}
	return s
}

func writeRun(t *testing.T, m results.Manifest) *results.Run {
	t.Helper()
	w, err := resultstest.WriteRun(t.TempDir(), m, speed)
	if err != nil {
		t.Fatal(err)
	}
	r, err := results.Open(w.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBurstFigureGoldens(t *testing.T) {
	tests := []struct {
		experiment, unit string
		sizes            []int
		files            []string
	}{
		{"scale-pods", "pods", []int{100, 200, 300, 600}, []string{"fig9-scale-pods", "fig9-scale-pods-breakdown"}},
		{"scale-funcs", "functions", []int{100, 300}, []string{"fig10-scale-funcs", "fig10-scale-funcs-breakdown"}},
		{"scale-nodes", "nodes", []int{50, 100}, []string{"fig11-scale-nodes", "fig11-scale-nodes-breakdown"}},
	}
	for _, tt := range tests {
		t.Run(tt.experiment, func(t *testing.T) {
			r := writeRun(t, manifest(tt.experiment, tt.unit, tt.sizes))
			figs, err := BurstFigures([]*results.Run{r}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range figs {
				names = append(names, f.Name)
			}
			if !slices.Equal(names, tt.files) {
				t.Fatalf("figures %v, want %v", names, tt.files)
			}
			for _, f := range figs {
				// One breakdown golden is enough: they share the code.
				if tt.experiment == "scale-pods" || !strings.HasSuffix(f.Name, "breakdown") {
					checkGolden(t, f.Plot, f.Name)
				}
			}
		})
	}
}

func TestCDFGolden(t *testing.T) {
	// Two log-normal-ish samples, deterministic: per-function slowdowns.
	var a, b []float64
	for i := 1; i <= 200; i++ {
		u := float64(i) / 201
		a = append(a, math.Exp(3*u))
		b = append(b, math.Exp(0.8*u*u))
	}
	p, err := CDF("per-function slowdown", "slowdown (geometric mean)", []Sample{{"kn-model", a}, {"kn-model-kd", b}}, true)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, p, "cdf-logx")
}

func TestRenderWritesEveryFormatAtomically(t *testing.T) {
	r := writeRun(t, manifest("scale-pods", "pods", []int{10, 20}))
	out := filepath.Join(t.TempDir(), "figs")
	paths, err := Render([]*results.Run{r}, Options{OutDir: out, Formats: []string{"png", "svg", "pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 6 {
		t.Errorf("wrote %v, want 2 figures × 3 formats", paths)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	svg, err := os.ReadFile(filepath.Join(out, "fig9-scale-pods.svg"))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
	// gonum writes text as glyph paths, so check the structure, not words.
	if !strings.Contains(string(svg), "<svg") {
		t.Errorf("SVG has no <svg> element")
	}
	if pdf, _ := os.ReadFile(filepath.Join(out, "fig9-scale-pods.pdf")); !strings.HasPrefix(string(pdf), "%PDF") {
		t.Errorf("PDF does not start with %%PDF")
	}
}

func TestSeriesNames(t *testing.T) {
	// Two runs of the same system get their directory in the label; a
	// figure mixing QPS profiles shows the profile.
	m := manifest("scale-pods", "pods", []int{10})
	m.Systems = []string{"k8s"}
	m.QPSProfiles = []string{"default", "tuned"}
	a := writeRun(t, m)
	m.Start = start.Add(time.Hour)
	b := writeRun(t, m)
	keys := []seriesKey{{"k8s", "default", 0}, {"k8s", "tuned", 0}, {"k8s", "default", 1}}
	got := seriesNames(keys, []*results.Run{a, b})
	want := map[seriesKey]string{
		keys[0]: "k8s (default) @20250304T050607Z",
		keys[1]: "k8s (tuned)",
		keys[2]: "k8s (default) @20250304T060607Z",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("name of %v = %q, want %q", k, got[k], w)
		}
	}
	figs, err := BurstFigures([]*results.Run{a, b}, Options{Stat: "p50"})
	if err != nil || len(figs) != 2 {
		t.Fatalf("figures of two runs: %d, %v", len(figs), err)
	}
}

func TestBadInput(t *testing.T) {
	nan := math.NaN()
	for name, call := range map[string]func() error{
		"no series":    func() error { _, err := LatencyVsX("t", "x", "y", nil); return err },
		"empty series": func() error { _, err := LatencyVsX("t", "x", "y", []Series{{Name: "a"}}); return err },
		"NaN point": func() error {
			_, err := LatencyVsX("t", "x", "y", []Series{{"a", []Point{{1, nan, 0, 0}}}})
			return err
		},
		"point outside CI": func() error { _, err := LatencyVsX("t", "x", "y", []Series{{"a", []Point{{1, 5, 6, 7}}}}); return err },
		"no bars":          func() error { _, err := StackedBars("t", "y", []string{"a"}, nil); return err },
		"short bar": func() error {
			_, err := StackedBars("t", "y", []string{"a", "b"}, []Bar{{"x", []float64{1}}})
			return err
		},
		"zero on a log axis": func() error { _, err := CDF("t", "x", []Sample{{"a", []float64{0, 1}}}, true); return err },
		"empty sample":       func() error { _, err := CDF("t", "x", []Sample{{"a", nil}}, false); return err },
		"unknown stat":       func() error { _, err := BurstFigures(nil, Options{Stat: "p95"}); return err },
		"no runs":            func() error { _, err := Render(nil, Options{OutDir: "x"}); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A run without burst measurements (a trace run, say) is refused by name.
	m := manifest("trace", "functions", nil)
	w, err := results.Create(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := BurstFigures([]*results.Run{w}, Options{}); err == nil || !strings.Contains(err.Error(), w.Dir) {
		t.Errorf("run without e2e items: %v, want an error naming %s", err, w.Dir)
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"png,svg", []string{"png", "svg"}, false},
		{" SVG , png,svg", []string{"svg", "png"}, false},
		{"pdf", []string{"pdf"}, false},
		{"gif", nil, true},
		{",", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseFormats(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
