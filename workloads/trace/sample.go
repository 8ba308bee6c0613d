package trace

import (
	"fmt"
	"math/rand"
	"sort"
)

// SampleOptions control Sample.
type SampleOptions struct {
	// Functions is the sample size; the papers used 500.
	Functions int
	Seed      int64
	// Minutes is the window whose invocation rate is preserved (the replay
	// clip); 0 means all columns.
	Minutes int
	// Trials is the number of candidate samples, of which the one with the
	// smallest largest KS distance is kept; default 16.
	Trials int
	// KeepIdle keeps functions without invocations in the window as
	// candidates (the loader's preprocessing removes them).
	KeepIdle bool
}

// KS is a Kolmogorov-Smirnov two-sample distance with its asymptotic p-value.
type KS struct{ D, P float64 }

func (k KS) String() string { return fmt.Sprintf("D=%.4f p=%.3g", k.D, k.P) }

// SampleReport says how close a sample is to its population, per dimension:
// invocations per minute in the window, mean duration, mean memory.
type SampleReport struct {
	Population, Sampled int
	Trials              int
	Rate                KS
	Duration            KS
	Memory              KS
	// Invocations in the window, and the population's scaled to the sample
	// size, to compare load.
	SampledInvocations, ScaledPopulationInvocations int64
}

// Sample picks opts.Functions functions from tr, keeping row order, so that
// the distributions of per-function invocation rate, mean duration and mean
// memory stay close to the population's. Each trial draws one function from
// each of Functions equal-size strata of the population sorted by rate
// (which pins the rate distribution), and the trial with the smallest
// maximum KS distance over the three dimensions wins. Deterministic per seed.
func Sample(tr *Trace, opts SampleOptions) (*Trace, SampleReport, error) {
	var rep SampleReport
	window := opts.Minutes
	if window <= 0 {
		window = tr.Minutes()
	}
	if window > tr.Minutes() {
		return nil, rep, fmt.Errorf("trace: sample window of %d minutes, the trace has %d columns", window, tr.Minutes())
	}
	trials := opts.Trials
	if trials <= 0 {
		trials = 16
	}
	var pool []int
	for i := range tr.Functions {
		if opts.KeepIdle || tr.Functions[i].TotalInvocations(window) > 0 {
			pool = append(pool, i)
		}
	}
	n := opts.Functions
	if n <= 0 || n > len(pool) {
		return nil, rep, fmt.Errorf("trace: cannot sample %d functions from %d candidates", n, len(pool))
	}
	rate := func(i int) float64 { return float64(tr.Functions[i].TotalInvocations(window)) / float64(window) }
	dur := func(i int) float64 { return tr.Functions[i].Duration.Average }
	mem := func(i int) float64 { return tr.Functions[i].Memory.Average }
	// Stable sort keeps ties in row order, so the strata are deterministic.
	sort.SliceStable(pool, func(a, b int) bool { return rate(pool[a]) < rate(pool[b]) })
	popRate, popDur, popMem := collect(pool, rate), collect(pool, dur), collect(pool, mem)

	rng := rand.New(rand.NewSource(opts.Seed))
	var best []int
	bestScore := 2.0
	for t := 0; t < trials; t++ {
		pick := make([]int, n)
		for s := 0; s < n; s++ {
			lo, hi := s*len(pool)/n, (s+1)*len(pool)/n
			pick[s] = pool[lo+rng.Intn(hi-lo)]
		}
		r, d, m := ksOf(popRate, pick, rate), ksOf(popDur, pick, dur), ksOf(popMem, pick, mem)
		if score := max(r.D, d.D, m.D); score < bestScore {
			best, bestScore = pick, score
			rep.Rate, rep.Duration, rep.Memory = r, d, m
		}
	}
	sort.Ints(best)
	out := &Trace{HasTrigger: tr.HasTrigger, Functions: make([]Function, n)}
	var total int64
	for k, i := range best {
		out.Functions[k] = tr.Functions[i]
		out.Functions[k].Invocations = append([]int32(nil), tr.Functions[i].Invocations...)
		rep.SampledInvocations += tr.Functions[i].TotalInvocations(window)
	}
	for _, i := range pool {
		total += tr.Functions[i].TotalInvocations(window)
	}
	rep.Population, rep.Sampled, rep.Trials = len(pool), n, trials
	rep.ScaledPopulationInvocations = total * int64(n) / int64(len(pool))
	return out, rep, nil
}

func collect(idx []int, f func(int) float64) []float64 {
	v := make([]float64, len(idx))
	for k, i := range idx {
		v[k] = f(i)
	}
	return v
}

func ksOf(pop []float64, pick []int, f func(int) float64) KS {
	a := append([]float64(nil), pop...)
	b := collect(pick, f)
	d := KSTwoSample(a, b)
	na, nb := float64(len(a)), float64(len(b))
	return KS{D: d, P: KSPValue(d, na*nb/(na+nb))}
}
