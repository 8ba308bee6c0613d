package stats

import (
	"math"
	"testing"
)

func seq(from, to int) []float64 {
	var xs []float64
	for i := from; i <= to; i++ {
		xs = append(xs, float64(i))
	}
	return xs
}

func TestQuantileArtifactRule(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		// The artifact: sorted Ready times at index ⌊0.9·n⌋.
		{"p90 of 1..10 is index 9", seq(1, 10), 0.9, 10},
		{"p50 of 1..10 is index 5", seq(1, 10), 0.5, 6},
		{"p90 of 1..100 is index 90", seq(1, 100), 0.9, 91},
		{"p99 of 1..100 is index 99", seq(1, 100), 0.99, 100},
		{"p90 of 1..600 is index 540", seq(1, 600), 0.9, 541},
		{"p50 of 1..3 is index 1", seq(1, 3), 0.5, 2},
		{"p0 is the minimum", seq(5, 9), 0, 5},
		{"p1 clamps to the maximum", seq(5, 9), 1, 9},
		{"single value", []float64{42}, 0.99, 42},
		{"negative p clamps to the minimum", seq(1, 4), -0.5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quantile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Quantile(%v…, %v) = %v, want %v", tt.sorted[0], tt.p, got, tt.want)
			}
		})
	}
	if got := Quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("Quantile(empty) = %v, want NaN", got)
	}
}

func TestPercentiles(t *testing.T) {
	// 1..100 shuffled deterministically: the summary must not depend on order.
	xs := seq(1, 100)
	for i := range xs {
		j := (i * 37) % len(xs)
		xs[i], xs[j] = xs[j], xs[i]
	}
	first := xs[0]
	got, err := Percentiles(xs)
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{N: 100, Min: 1, P50: 51, P90: 91, P99: 100, Max: 100, Mean: 50.5}
	if got != want {
		t.Errorf("Percentiles = %+v, want %+v", got, want)
	}
	if xs[0] != first {
		t.Errorf("Percentiles modified its input")
	}

	for _, bad := range []struct {
		name string
		xs   []float64
	}{
		{"empty", nil},
		{"NaN", []float64{1, math.NaN(), 3}},
	} {
		if _, err := Percentiles(bad.xs); err == nil {
			t.Errorf("Percentiles(%s) succeeded, want an error", bad.name)
		}
	}
}

func TestMedianMeanGeoMean(t *testing.T) {
	tests := []struct {
		name         string
		xs           []float64
		median, mean float64
		geomean      float64
		geomeanFails bool
	}{
		{"odd", []float64{3, 1, 2}, 2, 2, math.Cbrt(6), false},
		{"even", []float64{4, 1, 3, 2}, 2.5, 2.5, math.Pow(24, 0.25), false},
		{"powers", []float64{1, 4}, 2.5, 2.5, 2, false},
		{"slowdowns", []float64{2, 8}, 5, 5, 4, false},
		{"zero breaks the geometric mean", []float64{0, 8}, 4, 4, 0, true},
		{"negative breaks the geometric mean", []float64{-1, 8}, 3.5, 3.5, 0, true},
	}
	const eps = 1e-12
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.xs); got != tt.median {
				t.Errorf("Median = %v, want %v", got, tt.median)
			}
			if got := Mean(tt.xs); math.Abs(got-tt.mean) > eps {
				t.Errorf("Mean = %v, want %v", got, tt.mean)
			}
			got, err := GeoMean(tt.xs)
			if tt.geomeanFails {
				if err == nil {
					t.Errorf("GeoMean = %v, want an error", got)
				}
				return
			}
			if err != nil || math.Abs(got-tt.geomean) > eps {
				t.Errorf("GeoMean = %v, %v; want %v", got, err, tt.geomean)
			}
		})
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Mean(nil)) {
		t.Errorf("Median/Mean of nothing should be NaN")
	}
}

func TestECDF(t *testing.T) {
	x, y := ECDF([]float64{3, math.NaN(), 1, 2, 2})
	wantX := []float64{1, 2, 2, 3}
	wantY := []float64{0.25, 0.5, 0.75, 1}
	if len(x) != len(wantX) {
		t.Fatalf("ECDF x = %v, want %v", x, wantX)
	}
	for i := range x {
		if x[i] != wantX[i] || y[i] != wantY[i] {
			t.Errorf("ECDF[%d] = (%v, %v), want (%v, %v)", i, x[i], y[i], wantX[i], wantY[i])
		}
	}
}

func TestQuantileRules(t *testing.T) {
	s := []float64{10, 20, 30, 40} // n = 4
	for _, tt := range []struct {
		p              float64
		linear, cl2, f float64
	}{
		// linear: h = 3p; CL2: index ⌈4p⌉−1; artifact: index ⌊4p⌋.
		{0.5, 25, 20, 30},
		{0.9, 37, 40, 40},
		{0.99, 39.7, 40, 40},
		{0.25, 17.5, 10, 20},
		{1, 40, 40, 40},
		{0, 10, 10, 10},
	} {
		if got := QuantileLinear(s, tt.p); math.Abs(got-tt.linear) > 1e-9 {
			t.Errorf("QuantileLinear(%v) = %v, want %v", tt.p, got, tt.linear)
		}
		if got := QuantileCL2(s, tt.p); got != tt.cl2 {
			t.Errorf("QuantileCL2(%v) = %v, want %v", tt.p, got, tt.cl2)
		}
		if got := Quantile(s, tt.p); got != tt.f {
			t.Errorf("Quantile(%v) = %v, want %v", tt.p, got, tt.f)
		}
	}
}
