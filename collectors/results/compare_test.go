package results

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func openRun(t *testing.T, m Manifest, slow float64) *Run {
	t.Helper()
	w := writeRun(t, t.TempDir(), m, slow, true)
	r, err := Open(w.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCompareGate(t *testing.T) {
	base := openRun(t, testManifest(), 1)
	e2e90 := Metric{"e2e", KeyPerc90}
	tests := []struct {
		name      string
		slow      float64 // k8s+ in B is this many times slower than in A
		metric    Metric
		max       float64
		regressed []Config
	}{
		{"identical runs", 1, e2e90, 0.10, nil},
		{"5% slower within 10%", 1.05, e2e90, 0.10, nil},
		{"20% slower beyond 10%", 1.2, e2e90, 0.10, []Config{{System: "k8s+", Size: 10}, {System: "k8s+", Size: 20}}},
		{"20% slower within 25%", 1.2, e2e90, 0.25, nil},
		{"faster is never a regression", 0.5, e2e90, 0, nil},
		{"another metric", 1.2, Metric{"scheduler", KeyPerc50}, 0.10, []Config{{System: "k8s+", Size: 10}, {System: "k8s+", Size: 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openRun(t, testManifest(), tt.slow)
			c, err := Compare(base, b, CompareOptions{Metric: tt.metric, MaxRegression: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Rows) != 4 {
				t.Errorf("%d rows, want 4 (2 systems × 2 sizes)", len(c.Rows))
			}
			var got []Config
			for _, r := range c.Regressions() {
				got = append(got, r.Config)
			}
			if len(got) != len(tt.regressed) {
				t.Fatalf("regressed %v, want %v", got, tt.regressed)
			}
			for i := range got {
				if got[i] != tt.regressed[i] {
					t.Errorf("regressed %v, want %v", got, tt.regressed)
				}
			}
			err = c.Err()
			var re *RegressionError
			if (len(tt.regressed) > 0) != errors.As(err, &re) {
				t.Errorf("Err() = %v, want a RegressionError: %v", err, len(tt.regressed) > 0)
			}
			if re != nil && !strings.Contains(re.Error(), "k8s+ size 10") {
				t.Errorf("regression message %q does not name the configuration", re)
			}
		})
	}
}

func TestCompareTableGolden(t *testing.T) {
	a := openRun(t, testManifest(), 1)
	b := openRun(t, testManifest(), 1.2)
	c, err := Compare(a, b, CompareOptions{Metric: Metric{"e2e", KeyPerc90}, MaxRegression: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := strings.NewReplacer(a.Dir, "<runA>", b.Dir, "<runB>").Replace(buf.String())
	golden(t, "compare.golden.txt", []byte(out))
}

func TestCompareRefusesMismatchedRuns(t *testing.T) {
	base := openRun(t, testManifest(), 1)
	tests := []struct {
		name   string
		modify func(*Manifest)
		metric Metric
		want   string
	}{
		{"other experiment", func(m *Manifest) { m.Experiment = "scale-funcs" }, Metric{"e2e", KeyPerc90}, `experiment "scale-pods" but`},
		{"other systems", func(m *Manifest) { m.Systems = []string{"k8s"} }, Metric{"e2e", KeyPerc90}, "measured systems [k8s k8s+]"},
		{"no size in common", func(m *Manifest) { m.Sizes = []int{30} }, Metric{"e2e", KeyPerc90}, "no configuration"},
		{"unknown metric", func(m *Manifest) {}, Metric{"e3e", KeyPerc90}, `no per-repetition metric "e3e"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testManifest()
			tt.modify(&m)
			b := openRun(t, m, 1)
			_, err := Compare(base, b, CompareOptions{Metric: tt.metric, MaxRegression: 0.1})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compare = %v, want an error containing %q", err, tt.want)
			}
			var re *RegressionError
			if errors.As(err, &re) {
				t.Errorf("a mismatch must not look like a regression")
			}
		})
	}
}

func TestParseFraction(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"10%", 0.10, false},
		{"0.1", 0.1, false},
		{" 2.5% ", 0.025, false},
		{"0", 0, false},
		{"-5%", 0, true},
		{"ten", 0, true},
		{"%", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFraction(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFraction(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
