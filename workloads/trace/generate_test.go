package trace

import (
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// oneFunction builds a trace with a single function of the given counts.
func oneFunction(counts []int32, dur [7]float64, mem [8]float64) *Trace {
	return &Trace{Functions: []Function{{
		HashOwner: "o", HashApp: "a", HashFunction: "f", Invocations: counts,
		Duration: DurationStats{Count: 1, Percentiles: dur},
		Memory:   MemoryStats{SampleCount: 1, Percentiles: mem},
	}}}
}

func repeat(n int32, cols int) []int32 {
	c := make([]int32, cols)
	for i := range c {
		c[i] = n
	}
	return c
}

var (
	flatDur = [7]float64{100, 100, 100, 100, 100, 100, 100}
	flatMem = [8]float64{128, 128, 128, 128, 128, 128, 128, 128}
)

func TestGenerateDeterministicPerSeed(t *testing.T) {
	tr := mustLoad(t, edgeDir)
	for _, iat := range IATDistributions {
		o := Options{Minutes: 12, IAT: iat, Seed: 42}
		a, err := Generate(tr, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Generate(tr, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs with seed 42 differ", iat)
		}
		o.Seed = 43
		c, err := Generate(tr, o)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(a.Functions, c.Functions) {
			t.Errorf("%s: seeds 42 and 43 give the same schedule", iat)
		}
	}
}

func TestGenerateOptionErrors(t *testing.T) {
	tr := mustLoad(t, edgeDir)
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"zero minutes", Options{}, "0 minutes"},
		{"more minutes than columns", Options{Minutes: 13}, "trace has 12 columns"},
		{"beyond a day", Options{Minutes: 1441}, "1441 minutes"},
		{"unknown distribution", Options{Minutes: 5, IAT: "poisson"}, `"poisson"`},
		{"unknown granularity", Options{Minutes: 5, Granularity: "hour"}, `"hour"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tr, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %s", err, tc.want)
			}
		})
	}
	if _, err := Generate(&Trace{}, DefaultOptions()); err == nil {
		t.Error("empty trace accepted")
	}
}

// Invocations fall inside their column: arrival times (sums of the float
// IATs) of the invocations counted in column m lie in [m, m+1) columns,
// and empty columns hold none, for every distribution and both granularities.
func TestGenerateRespectsColumns(t *testing.T) {
	tr := mustLoad(t, edgeDir)
	for _, g := range []Granularity{Minute, Second} {
		for _, iat := range IATDistributions {
			o := Options{Minutes: 12, IAT: iat, Granularity: g, Seed: 3}
			s, err := Generate(tr, o)
			if err != nil {
				t.Fatal(err)
			}
			unit := o.unit()
			for _, fs := range s.Functions {
				at := 0.0
				for k, inv := range fs.Invocations {
					at += inv.IATUs
					m, _ := fs.Minute(k)
					lo, hi := float64(m)*unit, float64(m+1)*unit
					if at < lo-1e-3 || at >= hi+1e-3 {
						t.Fatalf("%s/%s %s invocation %d of column %d at %.3f µs, outside [%v, %v)",
							g, iat, fs.Function.HashFunction, k, m, at, lo, hi)
					}
				}
				if got, want := int64(len(fs.Invocations)), fs.Function.TotalInvocations(12); got != want {
					t.Errorf("%s: %d invocations, trace has %d", fs.Function.HashFunction, got, want)
				}
			}
		}
	}
}

// Within a column the non-shifted generator starts at the column boundary;
// the gaps between invocations follow the requested distribution.
func TestIATDistributions(t *testing.T) {
	const n, cols = 1000, 6
	mean := 60e6 / n
	cases := []struct {
		iat IATDistribution
		cdf func(float64) float64
	}{
		{Exponential, func(x float64) float64 { return 1 - math.Exp(-x/mean) }},
		{ExponentialShift, func(x float64) float64 { return 1 - math.Exp(-x/mean) }},
		// Float64 draws normalised by their sum (≈ n/2) are uniform on [0, 2·mean).
		{Uniform, func(x float64) float64 { return min(max(x/(2*mean), 0), 1) }},
		{UniformShift, func(x float64) float64 { return min(max(x/(2*mean), 0), 1) }},
	}
	for ci, tc := range cases {
		t.Run(string(tc.iat), func(t *testing.T) {
			s, err := Generate(oneFunction(repeat(n, cols), flatDur, flatMem), Options{Minutes: cols, IAT: tc.iat, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			var gaps []float64
			for k, inv := range s.Functions[0].Invocations {
				// The first IAT of a column is a carry-over (or a shift split).
				if _, i := s.Functions[0].Minute(k); i != 0 {
					gaps = append(gaps, inv.IATUs)
				}
			}
			d := KSOneSample(gaps, tc.cdf)
			if p := KSPValue(d, float64(len(gaps))); p < 0.001 {
				t.Errorf("KS D = %.4f, p = %.2g over %d gaps: not %s", d, p, len(gaps), tc.iat)
			}
			// The wrong distribution must be rejected, or the test proves nothing.
			other := cases[(ci+2)%len(cases)].cdf
			if p := KSPValue(KSOneSample(gaps, other), float64(len(gaps))); p > 0.001 {
				t.Errorf("the gaps also pass as the other distribution (p = %.2g)", p)
			}
		})
	}
	t.Run(string(Equidistant), func(t *testing.T) {
		s, err := Generate(oneFunction(repeat(7, 3), flatDur, flatMem), Options{Minutes: 3, IAT: Equidistant})
		if err != nil {
			t.Fatal(err)
		}
		for k, inv := range s.Functions[0].Invocations {
			want := 60e6 / 7
			if k == 0 {
				want = 0
			}
			if math.Abs(inv.IATUs-want) > 1e-6 {
				t.Fatalf("IAT %d = %v, want %v", k, inv.IATUs, want)
			}
		}
	})
}

// With one invocation per minute, the shift variants place it uniformly in
// the minute; the plain ones at the minute's start.
func TestShiftPlacesFirstInvocationUniformly(t *testing.T) {
	const cols = 1000
	for _, iat := range []IATDistribution{ExponentialShift, UniformShift, Exponential} {
		s, err := Generate(oneFunction(repeat(1, cols), flatDur, flatMem), Options{Minutes: cols, IAT: iat, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		at := 0.0
		offsets := make([]float64, 0, cols)
		for k, inv := range s.Functions[0].Invocations {
			at += inv.IATUs
			offsets = append(offsets, at-float64(k)*60e6)
		}
		d := KSOneSample(offsets, func(x float64) float64 { return min(max(x/60e6, 0), 1) })
		p := KSPValue(d, cols)
		if shifted := iat != Exponential; shifted && p < 0.001 {
			t.Errorf("%s: offsets not uniform in the minute (D = %.3f)", iat, d)
		} else if !shifted && (p > 0.001 || math.Abs(offsets[cols-1]) > 1) {
			t.Errorf("%s: invocations should start their minute, offset %v", iat, offsets[cols-1])
		}
	}
}

// Runtimes and memory follow the piecewise-uniform distribution between the
// percentiles (integer draws, centred with +0.5 for the continuous CDF).
func TestRuntimeAndMemoryFollowPercentiles(t *testing.T) {
	dur := [7]float64{0, 100, 1000, 2000, 3000, 10000, 20000}
	mem := [8]float64{100, 200, 1000, 2000, 3000, 5000, 7000, 9000}
	s, err := Generate(oneFunction(repeat(2000, 10), dur, mem), Options{Minutes: 10, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	var rt, mm []float64
	for _, inv := range s.Functions[0].Invocations {
		rt = append(rt, float64(inv.RuntimeMs)+0.5)
		mm = append(mm, float64(inv.MemoryMiB)+0.5)
	}
	rq := []float64{0, 0.01, 0.25, 0.50, 0.75, 0.99, 1}
	mq := []float64{0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99, 1}
	if d := KSOneSample(rt, piecewise(dur[:], rq)); KSPValue(d, float64(len(rt))) < 0.001 {
		t.Errorf("runtimes: KS D = %.4f", d)
	}
	// Memory has an atom at p1 for q <= 0.01.
	if d := KSOneSample(mm, piecewise(mem[:], mq)); KSPValue(d, float64(len(mm))) < 0.001 {
		t.Errorf("memory: KS D = %.4f", d)
	}
}

// piecewise is the CDF that is linear between (v[i], q[i]) points.
func piecewise(v, q []float64) func(float64) float64 {
	return func(x float64) float64 {
		if x < v[0] {
			return 0
		}
		for i := 1; i < len(v); i++ {
			if x < v[i] {
				return q[i-1] + (q[i]-q[i-1])*(x-v[i-1])/(v[i]-v[i-1])
			}
		}
		return 1
	}
}

func TestClamps(t *testing.T) {
	s, err := Generate(mustLoad(t, edgeDir), Options{Minutes: 12, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]int{}
	for _, fs := range s.Functions {
		for _, inv := range fs.Invocations {
			if inv.RuntimeMs < MinRuntimeMs || inv.RuntimeMs > MaxRuntimeMs || inv.MemoryMiB < MinMemoryMiB || inv.MemoryMiB > MaxMemoryMiB {
				t.Fatalf("%s: %+v outside the clamps", fs.Function.HashFunction, inv)
			}
			switch {
			case inv.RuntimeMs == MaxRuntimeMs:
				hits["runtime max"]++
			case inv.RuntimeMs == MinRuntimeMs:
				hits["runtime min"]++
			}
			if inv.MemoryMiB == MaxMemoryMiB {
				hits["memory max"]++
			}
		}
	}
	// fa has p100 = 120 s and 30 GiB; ff has all duration percentiles below 1 ms.
	for _, k := range []string{"runtime max", "runtime min", "memory max"} {
		if hits[k] == 0 {
			t.Errorf("no invocation hit the %s clamp: %v", k, hits)
		}
	}
	for _, inv := range s.Functions[5].Invocations {
		if inv.RuntimeMs != 1 {
			t.Fatalf("ff runtime %d, percentiles truncate to 0 so the clamp gives 1", inv.RuntimeMs)
		}
	}
}

// Quantile edges: q = 0 gives p0 and q <= 0.01 gives memory p1 without an
// Intn draw; equal truncated bounds draw nothing either.
func TestQuantileEdges(t *testing.T) {
	dur := [7]float64{3.9, 10, 20, 30, 40, 50, 60}
	mem := [8]float64{7.9, 10, 20, 30, 40, 50, 60, 70}
	cases := []struct {
		name     string
		draw     func(*rand.Rand) (int, error)
		want     int
		consumes bool
	}{
		{"runtime q=0", func(r *rand.Rand) (int, error) { return runtimeMs(r, 0, &dur) }, 3, false},
		{"memory q=0.01", func(r *rand.Rand) (int, error) { return memoryMiB(r, 0.01, &mem) }, 7, false},
		{"memory q=0", func(r *rand.Rand) (int, error) { return memoryMiB(r, 0, &mem) }, 7, false},
		{"runtime q=0.01 is the first interval", func(r *rand.Rand) (int, error) { return runtimeMs(r, 0.01, &dur) }, -1, true},
		{"runtime equal truncated bounds", func(r *rand.Rand) (int, error) {
			return runtimeMs(r, 0.5, &[7]float64{1, 2, 5.1, 5.9, 6, 7, 8})
		}, 5, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, ref := rand.New(rand.NewSource(1)), rand.New(rand.NewSource(1))
			got, err := tc.draw(r)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want >= 0 && got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
			if tc.want < 0 && (got < 3 || got >= 10) {
				t.Errorf("got %d, want in [3, 10)", got)
			}
			if consumed := r.Int63() != ref.Int63(); consumed != tc.consumes {
				t.Errorf("consumed a draw: %v, want %v", consumed, tc.consumes)
			}
		})
	}
	if _, err := between(rand.New(rand.NewSource(1)), 5, 4.5); err == nil {
		t.Error("decreasing bounds accepted")
	}
}

func TestTimelineMergesInTimeOrder(t *testing.T) {
	s, err := Generate(mustLoad(t, edgeDir), Options{Minutes: 12, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, len(s.Functions))
	var last Arrival
	n := 0
	for a := range s.Timeline() {
		if n > 0 && (a.At < last.At || (a.At == last.At && a.Function < last.Function)) {
			t.Fatalf("arrival %+v after %+v", a, last)
		}
		if a.Index != seen[a.Function] {
			t.Fatalf("function %d: got invocation %d, want %d", a.Function, a.Index, seen[a.Function])
		}
		fs := s.Functions[a.Function]
		if m, i := fs.Minute(a.Index); m != a.Minute || i != a.MinuteIndex {
			t.Fatalf("arrival %+v: Minute() says %d/%d", a, m, i)
		}
		seen[a.Function]++
		last = a
		n++
	}
	if n != s.Len() {
		t.Errorf("timeline yielded %d of %d invocations", n, s.Len())
	}
	if got := InvocationID(Minute, 3, 7); got != "min3.inv7" {
		t.Errorf("InvocationID = %q", got)
	}
	if got := InvocationID(Second, 0, 0); got != "sec0.inv0" {
		t.Errorf("InvocationID = %q", got)
	}
}
