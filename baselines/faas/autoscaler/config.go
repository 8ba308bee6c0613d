package autoscaler

import (
	"fmt"
	"time"

	"knative.dev/serving/pkg/autoscaler/scaling"
)

// Config holds a function's scaling parameters: Knative's config-autoscaler
// keys plus the two places where Dirigent's KPA port departs from Knative.
type Config struct {
	// Target is the concurrency per pod the decider aims at (Knative's
	// container-concurrency-target × utilisation; 1 when containerConcurrency
	// is 1 and utilisation 100 %).
	Target float64
	// Total is what one pod can hold (containerConcurrency).
	Total float64
	// MaxScaleUpRate and MaxScaleDownRate bound one decision relative to the
	// ready pods (Knative: max-scale-up-rate, max-scale-down-rate).
	MaxScaleUpRate, MaxScaleDownRate float64
	// PanicThreshold is the factor of panic-window demand over ready pods that
	// enters panic mode (Knative's panic-threshold-percentage / 100).
	PanicThreshold float64
	// StableWindow and PanicWindow are the averaging windows.
	StableWindow, PanicWindow time.Duration
	// Granularity is the width of one window bucket, i.e. how often the
	// gateway's concurrency is sampled (Knative: 1 s; Dirigent: 2 s).
	Granularity time.Duration
	// Tick is how often every function's decider runs.
	Tick time.Duration
	// ScaleDownDelay holds a scale-down until the lower demand has lasted
	// this long (Knative: scale-down-delay; 0 disables).
	ScaleDownDelay time.Duration
	// ScaleToZeroGrace is Knative's scale-to-zero-grace-period: how long the
	// activator must have been in the path before the last pod may go.
	ScaleToZeroGrace time.Duration
	// Dirigent selects Dirigent's lifecycle instead of the KPA reconciler's:
	// a first request at zero scales to one immediately, desired zero is
	// applied at once (no grace, no minimum active time), and scaling down is
	// off for one stable window after registration.
	Dirigent bool
}

// Knative is the Kubedirect artifact's Knative Serving 1.15 configuration for
// the trace runs: containerConcurrency 1 at 100 % utilisation (target 1),
// Knative's default windows, rates and tick, activator always in path
// (target-burst-capacity −1), scale-to-zero grace 15 min. The artifact sets
// scale-down-delay 60 s globally and 30 s per revision; the revision wins.
func Knative() Config {
	return Config{
		Target:           1,
		Total:            1,
		MaxScaleUpRate:   1000,
		MaxScaleDownRate: 2,
		PanicThreshold:   2,
		StableWindow:     60 * time.Second,
		PanicWindow:      6 * time.Second,
		Granularity:      time.Second,
		Tick:             2 * time.Second,
		ScaleDownDelay:   30 * time.Second,
		ScaleToZeroGrace: 15 * time.Minute,
	}
}

// Dirigent is Dirigent's KPA port: the same decider parameters with target
// 1.0, windows of 30 and 3 two-second samples, a 2 s period, no scale-down
// delay and no scale-to-zero grace.
func Dirigent() Config {
	c := Knative()
	c.Granularity = 2 * time.Second
	c.ScaleDownDelay = 0
	c.ScaleToZeroGrace = 0
	c.Dirigent = true
	return c
}

// Validate reports the first parameter Knative would reject.
func (c Config) Validate() error {
	switch {
	case c.Target <= 0 || c.Total < c.Target:
		return fmt.Errorf("autoscaler config: target %g must be > 0 and ≤ total %g", c.Target, c.Total)
	case c.MaxScaleUpRate <= 1 || c.MaxScaleDownRate <= 1:
		return fmt.Errorf("autoscaler config: max scale rates must be > 1 (up %g, down %g)", c.MaxScaleUpRate, c.MaxScaleDownRate)
	case c.PanicThreshold <= 1:
		return fmt.Errorf("autoscaler config: panic threshold %g must be > 1", c.PanicThreshold)
	case c.Granularity <= 0 || c.Granularity%time.Second != 0:
		return fmt.Errorf("autoscaler config: granularity %v must be a positive whole number of seconds", c.Granularity)
	case c.PanicWindow < c.Granularity || c.StableWindow < c.PanicWindow:
		return fmt.Errorf("autoscaler config: need granularity %v ≤ panic window %v ≤ stable window %v", c.Granularity, c.PanicWindow, c.StableWindow)
	case c.Tick <= 0:
		return fmt.Errorf("autoscaler config: tick %v must be > 0", c.Tick)
	case c.ScaleDownDelay < 0 || c.ScaleDownDelay%(2*time.Second) != 0:
		// Knative's decider keeps the delay window in 2 s buckets.
		return fmt.Errorf("autoscaler config: scale-down delay %v must be a non-negative multiple of 2s", c.ScaleDownDelay)
	case c.ScaleToZeroGrace < 0:
		return fmt.Errorf("autoscaler config: scale-to-zero grace %v must be ≥ 0", c.ScaleToZeroGrace)
	}
	return nil
}

// deciderSpec is what Knative's MakeDecider would build from c for a
// concurrency-scaled, routed revision.
func (c Config) deciderSpec() *scaling.DeciderSpec {
	return &scaling.DeciderSpec{
		MaxScaleUpRate:      c.MaxScaleUpRate,
		MaxScaleDownRate:    c.MaxScaleDownRate,
		ScalingMetric:       "concurrency",
		TargetValue:         c.Target,
		TotalValue:          c.Total,
		TargetBurstCapacity: -1,
		ActivatorCapacity:   100,
		PanicThreshold:      c.PanicThreshold,
		StableWindow:        c.StableWindow,
		ScaleDownDelay:      c.ScaleDownDelay,
		Reachable:           true,
	}
}
