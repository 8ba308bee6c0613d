package dirigent

import (
	"testing"
	"time"
)

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func concat(vs ...[]float64) []float64 {
	var out []float64
	for _, v := range vs {
		out = append(out, v...)
	}
	return out
}

func TestAutoscalerDecisions(t *testing.T) {
	cfg := DefaultAutoscalerConfig()
	for _, tc := range []struct {
		name string
		// first is the first tick's time after registration; ticks follow
		// every period.
		first          time.Duration
		samples        []float64
		ready, current int
		want           int
		wantPanic      bool
	}{
		{name: "steady load, one sandbox per request", first: time.Minute, samples: repeat(5, 30), ready: 5, current: 5, want: 5},
		{name: "fractional load rounds up", first: time.Minute, samples: repeat(2.2, 30), ready: 3, current: 3, want: 3},
		{name: "idle scales down at most by half", first: time.Minute, samples: repeat(0, 30), ready: 4, current: 4, want: 2},
		{name: "idle at one sandbox goes to zero at once", first: time.Minute, samples: repeat(0, 1), ready: 1, current: 1, want: 0},
		{name: "no downscaling in the first stable window", first: 0, samples: repeat(0, 29), ready: 3, current: 3, want: 3},
		{name: "downscaling resumes after the first stable window", first: 0, samples: repeat(0, 31), ready: 3, current: 3, want: 1},
		{name: "scale-up bounded by the up rate", first: time.Minute, samples: repeat(5000, 3), ready: 1, current: 1, want: 1000, wantPanic: true},
		{name: "spike enters panic on the panic window", first: time.Minute, samples: concat(repeat(1, 27), repeat(10, 3)), ready: 1, current: 1, want: 10, wantPanic: true},
		{name: "below the panic threshold follows the stable window", first: time.Minute, samples: concat(repeat(2, 27), repeat(3, 3)), ready: 2, current: 2, want: 3},
		{name: "panic never scales down", first: time.Minute, samples: concat(repeat(10, 3), repeat(0, 29)), ready: 1, current: 1, want: 10, wantPanic: true},
		// The spike stays in the 3-sample panic window for two more ticks.
		{name: "panic lasts a stable window after the panic window last exceeded", first: time.Minute, samples: concat(repeat(10, 3), repeat(0, 31)), ready: 1, current: 1, want: 10, wantPanic: true},
		{name: "panic ends a stable window after the panic window last exceeded", first: time.Minute, samples: concat(repeat(10, 3), repeat(0, 32)), ready: 1, current: 1, want: 0},
		{name: "scale from zero waits for no tick history", first: time.Minute, samples: []float64{1}, ready: 0, current: 0, want: 1, wantPanic: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := time.Unix(1_000_000, 0)
			a := NewAutoscaler(cfg, reg)
			got := -1
			for i, s := range tc.samples {
				got = a.Tick(reg.Add(tc.first+time.Duration(i)*cfg.Period), s, tc.ready, tc.current)
			}
			if got != tc.want || a.Panicking() != tc.wantPanic {
				t.Errorf("desired %d (panic %v), want %d (panic %v)", got, a.Panicking(), tc.want, tc.wantPanic)
			}
		})
	}
}
