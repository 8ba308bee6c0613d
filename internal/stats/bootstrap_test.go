package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBootstrapKnownIntervals(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		stat Statistic
		want Interval
	}{
		{"one value has a zero-width interval", []float64{7}, Median, Interval{7, 7, 7}},
		{"constant sample", []float64{5, 5, 5, 5}, Median, Interval{5, 5, 5}},
		// Resample medians of {1,3}: 1 (p=¼), 2 (p=½), 3 (p=¼), so the
		// 2.5 % and 97.5 % quantiles are the extremes.
		{"two values, median", []float64{1, 3}, Median, Interval{2, 1, 3}},
		{"two values, mean", []float64{1, 3}, Mean, Interval{2, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bootstrap(tt.xs, tt.stat, BootstrapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Bootstrap = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// For the mean of a large normal sample the percentile bootstrap must agree
// with the textbook interval x̄ ± 1.96·s/√n.
func TestBootstrapMeanMatchesNormalTheory(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	xs := make([]float64, 400)
	for i := range xs {
		xs[i] = 100 + 15*r.NormFloat64()
	}
	mean := Mean(xs)
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	half := 1.96 * math.Sqrt(ss/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))

	got, err := Bootstrap(xs, Mean, BootstrapOptions{Resamples: 4000})
	if err != nil {
		t.Fatal(err)
	}
	if got.Point != mean {
		t.Errorf("point = %v, want the sample mean %v", got.Point, mean)
	}
	// Monte Carlo error of 4000 resamples is a few per cent of the half-width.
	tol := 0.1 * half
	if math.Abs(got.Lo-(mean-half)) > tol || math.Abs(got.Hi-(mean+half)) > tol {
		t.Errorf("interval [%.3f, %.3f], want about [%.3f, %.3f] (±%.3f)", got.Lo, got.Hi, mean-half, mean+half, tol)
	}
}

func TestBootstrapIsDeterministic(t *testing.T) {
	xs := []float64{812, 790, 1020, 845, 801}
	a, _ := Bootstrap(xs, Median, BootstrapOptions{Seed: 3})
	b, _ := Bootstrap(xs, Median, BootstrapOptions{Seed: 3})
	if a != b {
		t.Errorf("same seed gave %+v and %+v", a, b)
	}
	// Pinned values: a change here means every published interval moves.
	got, err := Bootstrap(xs, Median, BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Interval{Point: 812, Lo: 790, Hi: 1020}
	if got != want {
		t.Errorf("Bootstrap(default seed) = %+v, want %+v", got, want)
	}
}

func TestBootstrapRatio(t *testing.T) {
	got, err := BootstrapRatio([]float64{10, 10, 10}, []float64{12, 12, 12}, Median, BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Point-1.2) > 1e-12 || math.Abs(got.Lo-1.2) > 1e-12 || math.Abs(got.Hi-1.2) > 1e-12 {
		t.Errorf("ratio = %+v, want 1.2 [1.2, 1.2]", got)
	}
	got, err = BootstrapRatio([]float64{100, 110, 90, 105, 95}, []float64{200, 220, 180, 210, 190}, Median, BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Point != 2 || got.Lo > 2 || got.Hi < 2 || got.Lo < 180.0/110 || got.Hi > 220.0/90 {
		t.Errorf("ratio = %+v, want 2 inside an interval within [%v, %v]", got, 180.0/110, 220.0/90)
	}
}

func TestBootstrapBadInput(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		opts BootstrapOptions
	}{
		{"empty", nil, BootstrapOptions{}},
		{"negative resamples", []float64{1}, BootstrapOptions{Resamples: -1}},
		{"confidence above one", []float64{1}, BootstrapOptions{Confidence: 1.5}},
	}
	for _, tt := range tests {
		if _, err := Bootstrap(tt.xs, Median, tt.opts); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := BootstrapRatio(nil, []float64{1}, Median, BootstrapOptions{}); err == nil {
		t.Errorf("ratio with an empty sample: no error")
	}
}

func TestBoundedIndexIsUniform(t *testing.T) {
	r := newRand(1)
	const n, draws = 5, 50000
	var counts [n]int
	for range draws {
		counts[boundedIndex(r, n)]++
	}
	for i, c := range counts {
		if math.Abs(float64(c)-draws/n) > 0.03*draws/n {
			t.Errorf("index %d drawn %d times of %d, want about %d", i, c, draws, draws/n)
		}
	}
}

func BenchmarkBootstrapMedian5(b *testing.B) {
	xs := []float64{812, 790, 1020, 845, 801}
	for b.Loop() {
		if _, err := Bootstrap(xs, Median, DefaultBootstrap); err != nil {
			b.Fatal(err)
		}
	}
}
