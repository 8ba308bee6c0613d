package trace

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand"
)

// SynthOptions size a synthetic trace.
type SynthOptions struct {
	Functions int
	// Minutes is the number of per-minute columns (at most 1440).
	Minutes int
	Seed    int64
}

// Shape of the synthetic trace, after the Azure Functions 2019 dataset
// ("Serverless in the Wild", ATC'20): per-function rates spread over many
// orders of magnitude, most functions rare and a few very busy; per-function
// mean durations log-normal with a mean near 800 ms; per-app memory around
// 150-200 MiB; triggers mostly HTTP, then queue/event/timer.
const (
	synthRateMedianPerMin = 0.5 // median per-function invocations per minute
	synthRateSigma        = 2.5 // ln-space spread: mean ≈ 11/min, the azure_500 clip's ~170k/30 min/500
	synthRateCapPerMin    = 5000
	synthDurMedianMs      = 250 // per-function mean duration ~ LogNormal(ln 250, 1.5): mean ≈ 770 ms
	synthDurSigma         = 1.5
	synthMemMedianMiB     = 170
	synthMemSigma         = 0.45
)

var synthTriggers = []struct {
	name   string
	weight float64
}{{"http", 0.55}, {"queue", 0.15}, {"event", 0.1}, {"timer", 0.12}, {"storage", 0.04}, {"orchestration", 0.03}, {"others", 0.01}}

// Normal quantiles of the percentile levels; p0 and p100 use ±3.5 σ.
var (
	durZ = [7]float64{-3.5, -2.326, -0.674, 0, 0.674, 2.326, 3.5}
	memZ = [8]float64{-2.326, -1.645, -0.674, 0, 0.674, 1.645, 2.326, 3.5}
)

// Synth generates an Azure-2019-shaped trace offline, deterministic per seed.
// Every function has at least one invocation in the window.
func Synth(opts SynthOptions) (*Trace, error) {
	if opts.Functions <= 0 {
		return nil, fmt.Errorf("trace: synth needs at least one function, got %d", opts.Functions)
	}
	if opts.Minutes < 1 || opts.Minutes > maxColumns {
		return nil, fmt.Errorf("trace: synth minutes %d, want 1..%d", opts.Minutes, maxColumns)
	}
	rng := rand.New(rand.NewSource(opts.Seed))
	tr := &Trace{HasTrigger: true, Functions: make([]Function, 0, opts.Functions)}
	var owner, app string
	var appMem MemoryStats
	for len(tr.Functions) < opts.Functions {
		// A new app (and sometimes a new owner) every few functions.
		if app == "" || rng.Float64() < 0.6 {
			if owner == "" || rng.Float64() < 0.7 {
				owner = synthHash(rng)
			}
			app = synthHash(rng)
			appMem = synthMemory(rng)
		}
		f := Function{HashOwner: owner, HashApp: app, HashFunction: synthHash(rng), Trigger: synthTrigger(rng)}
		f.Invocations = synthCounts(rng, f.Trigger, opts.Minutes)
		f.Duration = synthDuration(rng, float64(f.TotalInvocations(opts.Minutes)))
		f.Duration.HashOwner, f.Duration.HashApp = owner, app
		f.Memory = appMem
		f.Memory.HashOwner, f.Memory.HashApp = owner, app
		tr.Functions = append(tr.Functions, f)
	}
	return tr, nil
}

func synthHash(rng *rand.Rand) string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(rng.Intn(256))
	}
	return hex.EncodeToString(b)
}

func synthTrigger(rng *rand.Rand) string {
	u := rng.Float64()
	for _, t := range synthTriggers {
		if u < t.weight {
			return t.name
		}
		u -= t.weight
	}
	return "http"
}

func synthCounts(rng *rand.Rand, trigger string, minutes int) []int32 {
	c := make([]int32, minutes)
	if trigger == "timer" {
		// Timers fire a fixed number of times every period minutes.
		periods := []int{1, 1, 5, 10, 15, 30, 60}
		period := periods[rng.Intn(len(periods))]
		n := int32(1 + rng.Intn(2))
		for m := rng.Intn(min(period, minutes)); m < minutes; m += period {
			c[m] = n
		}
	} else {
		rate := math.Min(synthRateMedianPerMin*math.Exp(synthRateSigma*rng.NormFloat64()), synthRateCapPerMin)
		for m := range c {
			// Gamma(2)-modulated Poisson: burstier than a plain Poisson process.
			c[m] = int32(poisson(rng, rate*gamma2(rng)))
		}
	}
	var total int32
	for _, n := range c {
		total += n
	}
	if total == 0 {
		c[rng.Intn(minutes)] = 1
	}
	return c
}

// gamma2 is a Gamma(shape 2, scale 1/2) draw: mean 1, variance 1/2.
func gamma2(rng *rand.Rand) float64 { return (rng.ExpFloat64() + rng.ExpFloat64()) / 2 }

func poisson(rng *rand.Rand, lambda float64) int {
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func synthDuration(rng *rand.Rand, count float64) DurationStats {
	mean := synthDurMedianMs * math.Exp(synthDurSigma*rng.NormFloat64())
	sigma := 0.1 + 0.9*rng.Float64()
	median := mean * math.Exp(-sigma*sigma/2)
	d := DurationStats{Average: round1(mean), Count: max(count, 1)}
	for i, z := range durZ {
		d.Percentiles[i] = round1(median * math.Exp(sigma*z))
	}
	d.Minimum, d.Maximum = d.Percentiles[0], d.Percentiles[6]
	return d
}

func synthMemory(rng *rand.Rand) MemoryStats {
	mean := synthMemMedianMiB * math.Exp(synthMemSigma*rng.NormFloat64())
	sigma := 0.02 + 0.18*rng.Float64()
	median := mean * math.Exp(-sigma*sigma/2)
	m := MemoryStats{SampleCount: float64(100 + rng.Intn(20000)), Average: round1(mean)}
	for i, z := range memZ {
		m.Percentiles[i] = round1(median * math.Exp(sigma*z))
	}
	return m
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
