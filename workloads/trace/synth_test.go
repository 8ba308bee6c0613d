package trace

import (
	"math"
	"reflect"
	"sort"
	"testing"
)

func TestSynthShape(t *testing.T) {
	tr, err := Synth(SynthOptions{Functions: 2000, Minutes: 30, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Functions) != 2000 || tr.Minutes() != 30 {
		t.Fatalf("%d functions, %d minutes", len(tr.Functions), tr.Minutes())
	}
	var total int64
	var rates, durs []float64
	var durWeighted, weight float64
	for i := range tr.Functions {
		f := &tr.Functions[i]
		n := f.TotalInvocations(30)
		if n == 0 {
			t.Fatalf("function %d has no invocations", i)
		}
		total += n
		rates = append(rates, float64(n)/30)
		durs = append(durs, f.Duration.Average)
		durWeighted += f.Duration.Average
		weight++
		for j := 1; j < 7; j++ {
			if f.Duration.Percentiles[j] < f.Duration.Percentiles[j-1] {
				t.Fatalf("function %d: duration percentiles decrease: %v", i, f.Duration.Percentiles)
			}
		}
	}
	sort.Float64s(rates)
	median, p99 := rates[len(rates)/2], rates[len(rates)*99/100]
	// Heavy tail: the busiest 1% run orders of magnitude above the median.
	if median > 2 || p99/median < 100 {
		t.Errorf("rates not heavy-tailed: median %.2f/min, p99 %.1f/min", median, p99)
	}
	// ~170k invocations per 500 functions and 30 minutes in the azure_500 clip.
	if per500 := float64(total) * 500 / 2000; per500 < 40e3 || per500 > 600e3 {
		t.Errorf("%.0f invocations per 500 functions in 30 min", per500)
	}
	if mean := durWeighted / weight; mean < 400 || mean > 1600 {
		t.Errorf("mean duration %.0f ms, want ~800", mean)
	}
	// Log of mean durations is normal: KS against N(ln 250, 1.5).
	logs := make([]float64, len(durs))
	for i, d := range durs {
		logs[i] = math.Log(d)
	}
	cdf := func(x float64) float64 {
		return 0.5 * math.Erfc(-(x-math.Log(synthDurMedianMs))/(synthDurSigma*math.Sqrt2))
	}
	if d := KSOneSample(logs, cdf); KSPValue(d, float64(len(logs))) < 0.001 {
		t.Errorf("durations not log-normal: D = %.3f", d)
	}
	// It is a valid trace: it generates and round-trips.
	if _, err := Generate(tr, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	if back := mustLoad(t, dir); !reflect.DeepEqual(back, tr) {
		t.Error("synthetic trace does not round-trip")
	}
}

func TestSynthDeterministic(t *testing.T) {
	a, _ := Synth(SynthOptions{Functions: 50, Minutes: 10, Seed: 1})
	b, _ := Synth(SynthOptions{Functions: 50, Minutes: 10, Seed: 1})
	c, _ := Synth(SynthOptions{Functions: 50, Minutes: 10, Seed: 2})
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Error("Synth is not deterministic per seed")
	}
	for _, o := range []SynthOptions{{Functions: 0, Minutes: 5}, {Functions: 5, Minutes: 0}, {Functions: 5, Minutes: 1441}} {
		if _, err := Synth(o); err == nil {
			t.Errorf("Synth(%+v) accepted", o)
		}
	}
}

func TestSample(t *testing.T) {
	pop, err := Synth(SynthOptions{Functions: 5000, Minutes: 30, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	s, rep, err := Sample(pop, SampleOptions{Functions: 500, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Functions) != 500 || rep.Sampled != 500 || rep.Population != 5000 {
		t.Fatalf("sampled %d of %d", rep.Sampled, rep.Population)
	}
	// Rows stay in population order and are distinct.
	seen := map[string]bool{}
	last := -1
	for _, f := range s.Functions {
		i := indexOf(pop, f.HashFunction)
		if i <= last || seen[f.HashFunction] {
			t.Fatalf("sample not in row order or repeats %s", f.HashFunction)
		}
		seen[f.HashFunction], last = true, i
	}
	for name, k := range map[string]KS{"rate": rep.Rate, "duration": rep.Duration, "memory": rep.Memory} {
		if k.P < 0.05 {
			t.Errorf("%s distribution not preserved: %v", name, k)
		}
	}
	if rep.Rate.D > 0.01 {
		t.Errorf("stratified rate KS D = %.4f, want near 0", rep.Rate.D)
	}
	// A random pick of the busiest functions fails the report, or it proves nothing.
	busiest := &Trace{Functions: append([]Function(nil), pop.Functions...)}
	sort.Slice(busiest.Functions, func(i, j int) bool {
		return busiest.Functions[i].TotalInvocations(30) > busiest.Functions[j].TotalInvocations(30)
	})
	if d := ksOf(collect(seq(len(pop.Functions)), func(i int) float64 { return float64(pop.Functions[i].TotalInvocations(30)) }),
		seq(500), func(i int) float64 { return float64(busiest.Functions[i].TotalInvocations(30)) }); d.P > 0.001 {
		t.Errorf("KS does not tell the busiest 500 from the population: %v", d)
	}
	again, rep2, _ := Sample(pop, SampleOptions{Functions: 500, Seed: 42})
	if !reflect.DeepEqual(again, s) || rep2 != rep {
		t.Error("Sample is not deterministic per seed")
	}
	if _, _, err := Sample(pop, SampleOptions{Functions: 6000}); err == nil {
		t.Error("oversized sample accepted")
	}
	if _, _, err := Sample(pop, SampleOptions{Functions: 5, Minutes: 31}); err == nil {
		t.Error("window beyond the trace accepted")
	}
}

func indexOf(tr *Trace, hash string) int {
	for i := range tr.Functions {
		if tr.Functions[i].HashFunction == hash {
			return i
		}
	}
	return -1
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
