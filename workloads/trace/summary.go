package trace

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"
)

// Summary describes a trace over a window of columns.
type Summary struct {
	Functions, Window int
	Invocations       int64
	// Idle counts functions without invocations in the window.
	Idle int
	// Per-function invocations per column: p50, p90, p99, max.
	Rate [4]float64
	// Per-function mean duration (ms) and mean memory (MiB): p50, p90, p99, max.
	DurationMs, MemoryMiB [4]float64
	// Invocation-weighted mean duration in ms.
	WeightedDurationMs float64
	Triggers           map[string]int
}

// Summarize describes the first minutes columns of tr (0 = all).
func Summarize(tr *Trace, minutes int) Summary {
	if minutes <= 0 || minutes > tr.Minutes() {
		minutes = tr.Minutes()
	}
	s := Summary{Functions: len(tr.Functions), Window: minutes, Triggers: map[string]int{}}
	rates := make([]float64, 0, len(tr.Functions))
	durs := make([]float64, 0, len(tr.Functions))
	mems := make([]float64, 0, len(tr.Functions))
	var weighted float64
	for i := range tr.Functions {
		f := &tr.Functions[i]
		n := f.TotalInvocations(minutes)
		s.Invocations += n
		if n == 0 {
			s.Idle++
		}
		rates = append(rates, float64(n)/float64(max(minutes, 1)))
		durs = append(durs, f.Duration.Average)
		mems = append(mems, f.Memory.Average)
		weighted += float64(n) * f.Duration.Average
		if tr.HasTrigger {
			s.Triggers[f.Trigger]++
		}
	}
	if s.Invocations > 0 {
		s.WeightedDurationMs = weighted / float64(s.Invocations)
	}
	s.Rate, s.DurationMs, s.MemoryMiB = quantiles(rates), quantiles(durs), quantiles(mems)
	return s
}

func quantiles(v []float64) [4]float64 {
	if len(v) == 0 {
		return [4]float64{}
	}
	slices.Sort(v)
	at := func(q float64) float64 { return v[min(len(v)-1, int(q*float64(len(v))))] }
	return [4]float64{at(0.5), at(0.9), at(0.99), v[len(v)-1]}
}

// Print writes the summary as an aligned table.
func (s Summary) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "functions\t%d (%d without invocations)\n", s.Functions, s.Idle)
	fmt.Fprintf(tw, "columns\t%d\n", s.Window)
	fmt.Fprintf(tw, "invocations\t%d\n", s.Invocations)
	fmt.Fprintf(tw, "\tp50\tp90\tp99\tmax\n")
	fmt.Fprintf(tw, "rate /column\t%.3g\t%.3g\t%.3g\t%.3g\n", s.Rate[0], s.Rate[1], s.Rate[2], s.Rate[3])
	fmt.Fprintf(tw, "mean duration ms\t%.4g\t%.4g\t%.4g\t%.4g\n", s.DurationMs[0], s.DurationMs[1], s.DurationMs[2], s.DurationMs[3])
	fmt.Fprintf(tw, "mean memory MiB\t%.4g\t%.4g\t%.4g\t%.4g\n", s.MemoryMiB[0], s.MemoryMiB[1], s.MemoryMiB[2], s.MemoryMiB[3])
	fmt.Fprintf(tw, "invocation-weighted mean duration ms\t%.4g\n", s.WeightedDurationMs)
	if len(s.Triggers) > 0 {
		names := make([]string, 0, len(s.Triggers))
		for k := range s.Triggers {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Fprint(tw, "triggers\t")
		for i, k := range names {
			if i > 0 {
				fmt.Fprint(tw, ", ")
			}
			fmt.Fprintf(tw, "%s %d", k, s.Triggers[k])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// Print writes the sample report.
func (r SampleReport) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "sampled\t%d of %d functions (best of %d trials)\n", r.Sampled, r.Population, r.Trials)
	fmt.Fprintf(tw, "invocations\t%d (population scaled to the sample: %d)\n", r.SampledInvocations, r.ScaledPopulationInvocations)
	fmt.Fprintf(tw, "KS rate\t%s\n", r.Rate)
	fmt.Fprintf(tw, "KS duration\t%s\n", r.Duration)
	fmt.Fprintf(tw, "KS memory\t%s\n", r.Memory)
	return tw.Flush()
}
