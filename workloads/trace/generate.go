package trace

import (
	"fmt"
	"io"
	"math/rand"
	"time"
)

// Invocation is one generated call of a function.
type Invocation struct {
	// IATUs is the loader's inter-arrival time in microseconds: the wait
	// after the previous invocation of the same function (for the first, after
	// the start of the experiment). It is a float64, bit-identical to the
	// loader's IAT array entry.
	IATUs     float64
	RuntimeMs int32
	MemoryMiB int32
}

// IAT is the wait the loader's driver sleeps for: the float truncated to
// whole microseconds.
func (inv Invocation) IAT() time.Duration { return time.Duration(inv.IATUs) * time.Microsecond }

// FunctionSchedule is the generated specification of one function.
type FunctionSchedule struct {
	// Row is the function's index in Trace.Functions.
	Row      int
	Function *Function
	// PerMinute counts the invocations issued in each column; it equals the
	// trace's counts for the first Options.Minutes columns.
	PerMinute   []int32
	Invocations []Invocation
}

// Generator expands a trace function by function, in row order, drawing from
// two math/rand generators both seeded with Options.Seed: one for
// inter-arrival times, one for runtimes and memory. For each function it first
// draws every inter-arrival time, column by column, then for each invocation
// the runtime quantile, the memory quantile, the runtime Intn and the memory
// Intn (an Intn is skipped when the percentile interval is a single value).
// This is the loader's stream layout, which is why a function's schedule
// depends on every function before it.
type Generator struct {
	tr       *Trace
	opts     Options
	iatRand  *rand.Rand
	specRand *rand.Rand
	next     int
	buf      []float64
}

// NewGenerator checks the options against the trace and returns a generator
// positioned at the first function.
func NewGenerator(tr *Trace, opts Options) (*Generator, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(tr.Functions) == 0 {
		return nil, fmt.Errorf("trace: %w", ErrEmpty)
	}
	if have := tr.Minutes(); o.Minutes > have {
		return nil, fmt.Errorf("trace: %d %ss requested, the trace has %d columns", o.Minutes, o.Granularity, have)
	}
	if err := checkFits(tr, o.Minutes, o.MemoryLimit, false); err != nil {
		return nil, err
	}
	return &Generator{
		tr:       tr,
		opts:     o,
		iatRand:  rand.New(rand.NewSource(o.Seed)),
		specRand: rand.New(rand.NewSource(o.Seed)),
	}, nil
}

// Options returns the options in effect, defaults filled in.
func (g *Generator) Options() Options { return g.opts }

// Next generates the next function's schedule; it returns io.EOF after the
// last function. Only one function's invocations are held at a time.
func (g *Generator) Next() (*FunctionSchedule, error) {
	if g.next >= len(g.tr.Functions) {
		return nil, io.EOF
	}
	row := g.next
	g.next++
	f := &g.tr.Functions[row]
	fs := &FunctionSchedule{Row: row, Function: f, PerMinute: append([]int32(nil), f.Invocations[:g.opts.Minutes]...)}
	fs.Invocations = make([]Invocation, 0, f.TotalInvocations(g.opts.Minutes))

	// pending is the gap after the last emitted invocation; empty columns add
	// their whole length to it.
	pending := 0.0
	for _, n := range fs.PerMinute {
		if n == 0 {
			pending += g.opts.unit()
			continue
		}
		if cap(g.buf) < int(n) {
			g.buf = make([]float64, 0, n)
		}
		first, gaps, err := column(g.iatRand, int(n), g.opts, g.buf)
		if err != nil {
			return nil, fmt.Errorf("function %d (%s): %w", row, f.HashFunction, err)
		}
		pending += first
		for _, gap := range gaps {
			fs.Invocations = append(fs.Invocations, Invocation{IATUs: pending})
			pending = gap
		}
	}

	for k := range fs.Invocations {
		runQ := g.specRand.Float64()
		memQ := g.specRand.Float64()
		rt, err := runtimeMs(g.specRand, runQ, &f.Duration.Percentiles)
		if err != nil {
			return nil, fmt.Errorf("function %d (%s): durations: %w", row, f.HashFunction, err)
		}
		mem, err := memoryMiB(g.specRand, memQ, &f.Memory.Percentiles)
		if err != nil {
			return nil, fmt.Errorf("function %d (%s): memory: %w", row, f.HashFunction, err)
		}
		fs.Invocations[k].RuntimeMs = int32(clamp(rt, MinRuntimeMs, MaxRuntimeMs))
		fs.Invocations[k].MemoryMiB = int32(clamp(mem, MinMemoryMiB, MaxMemoryMiB))
	}
	return fs, nil
}

// Schedule is a fully generated trace.
type Schedule struct {
	Options   Options
	Functions []*FunctionSchedule
}

// Generate expands the whole trace. A 30-minute, 500-function clip of the
// Azure trace (~170k invocations) takes about 3 MB; use NewGenerator to
// stream one function at a time instead.
func Generate(tr *Trace, opts Options) (*Schedule, error) {
	g, err := NewGenerator(tr, opts)
	if err != nil {
		return nil, err
	}
	if err := checkFits(tr, g.opts.Minutes, g.opts.MemoryLimit, true); err != nil {
		return nil, err
	}
	s := &Schedule{Options: g.Options(), Functions: make([]*FunctionSchedule, 0, len(tr.Functions))}
	for {
		fs, err := g.Next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		s.Functions = append(s.Functions, fs)
	}
}

// Len is the number of invocations in the schedule.
func (s *Schedule) Len() int {
	n := 0
	for _, fs := range s.Functions {
		n += len(fs.Invocations)
	}
	return n
}

// Minute returns the column of invocation k, and its index within the
// column, as the loader numbers them in invocation IDs.
func (fs *FunctionSchedule) Minute(k int) (minute, index int) {
	for m, n := range fs.PerMinute {
		if k < int(n) {
			return m, k
		}
		k -= int(n)
	}
	return -1, -1
}

// InvocationID is the loader's ID of invocation k: "min<m>.inv<i>" (or
// "sec<m>.inv<i>" at second granularity).
func InvocationID(g Granularity, minute, index int) string {
	prefix := "min"
	if g == Second {
		prefix = "sec"
	}
	return fmt.Sprintf("%s%d.inv%d", prefix, minute, index)
}
