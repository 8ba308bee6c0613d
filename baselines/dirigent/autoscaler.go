package dirigent

import (
	"math"
	"time"
)

// AutoscalerConfig is Dirigent's KPA-like autoscaler's knobs. Defaults are
// the values Dirigent's evaluation uses (EXPERIMENTS.md, "Autoscaling").
type AutoscalerConfig struct {
	// Period is how often the control plane samples and decides.
	Period time.Duration
	// StableWindow and PanicWindow are the averaging windows; they hold
	// StableWindow/Period and PanicWindow/Period samples.
	StableWindow, PanicWindow time.Duration
	// PanicThreshold is the panic-window load over Ready capacity (2 = 200%)
	// that enters panic mode.
	PanicThreshold float64
	// MaxScaleUpRate and MaxScaleDownRate bound one decision relative to the
	// Ready sandboxes.
	MaxScaleUpRate, MaxScaleDownRate float64
	// Target is the in-flight + queued requests per sandbox.
	Target float64
}

// DefaultAutoscalerConfig: stable 60 s, panic 6 s, threshold 200 %, up 1000,
// down 2, period 2 s, target 1.
func DefaultAutoscalerConfig() AutoscalerConfig {
	return AutoscalerConfig{
		Period:           2 * time.Second,
		StableWindow:     60 * time.Second,
		PanicWindow:      6 * time.Second,
		PanicThreshold:   2,
		MaxScaleUpRate:   1000,
		MaxScaleDownRate: 2,
		Target:           1,
	}
}

// Autoscaler decides one function's desired sandboxes from samples of its
// in-flight + queued requests, the way Knative's KPA decider does, with
// Dirigent's differences: no scale-to-zero grace (desired 0 is applied at
// once) and no downscaling during the first stable window after
// registration. Scale-from-zero does not wait for a tick: the control plane
// sets 1 as soon as a data plane reports a request queued at zero sandboxes.
// It is not safe for concurrent use; time comes in as arguments.
type Autoscaler struct {
	cfg        AutoscalerConfig
	registered time.Time
	samples    []float64 // newest last, at most stableLen
	stableLen  int
	panicLen   int
	panicSince time.Time // zero when not panicking
	maxPanic   int
}

// NewAutoscaler starts a function's autoscaler at its registration time.
func NewAutoscaler(cfg AutoscalerConfig, registered time.Time) *Autoscaler {
	n := func(w time.Duration) int { return max(1, int(w/cfg.Period)) }
	return &Autoscaler{cfg: cfg, registered: registered, stableLen: n(cfg.StableWindow), panicLen: n(cfg.PanicWindow)}
}

// Tick records one period's sample of in-flight + queued requests and
// returns the desired sandboxes given the ready and current (ready plus
// being created) sandboxes.
func (a *Autoscaler) Tick(now time.Time, sample float64, ready, current int) int {
	if len(a.samples) == a.stableLen {
		copy(a.samples, a.samples[1:])
		a.samples = a.samples[:len(a.samples)-1]
	}
	a.samples = append(a.samples, sample)

	stable := avg(a.samples)
	panicW := avg(a.samples[max(0, len(a.samples)-a.panicLen):])
	readyF := math.Max(1, float64(ready))
	maxUp := int(math.Ceil(a.cfg.MaxScaleUpRate * readyF))
	maxDown := int(math.Floor(readyF / a.cfg.MaxScaleDownRate))
	bound := func(v float64) int {
		return min(max(int(math.Ceil(v/a.cfg.Target)), maxDown), maxUp)
	}
	desiredStable, desiredPanic := bound(stable), bound(panicW)

	over := panicW/a.cfg.Target/readyF >= a.cfg.PanicThreshold
	switch {
	case over:
		a.panicSince = now
	case !a.panicSince.IsZero() && now.Sub(a.panicSince) >= a.cfg.StableWindow:
		a.panicSince, a.maxPanic = time.Time{}, 0
	}
	desired := desiredStable
	if !a.panicSince.IsZero() {
		// In panic the decider never scales down.
		a.maxPanic = max(a.maxPanic, desiredPanic, current)
		desired = a.maxPanic
	}
	if now.Sub(a.registered) < a.cfg.StableWindow {
		desired = max(desired, current)
	}
	return desired
}

// Panicking says whether the last Tick was in panic mode.
func (a *Autoscaler) Panicking() bool { return !a.panicSince.IsZero() }

func avg(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
