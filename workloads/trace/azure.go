package trace

import (
	"fmt"
	"path/filepath"
)

// Raw file names of the Azure Functions 2019 dataset for day d (1..14).
func AzureInvocationsFile(day int) string {
	return fmt.Sprintf("invocations_per_function_md.anon.d%02d.csv", day)
}
func AzureDurationsFile(day int) string {
	return fmt.Sprintf("function_durations_percentiles.anon.d%02d.csv", day)
}
func AzureMemoryFile(day int) string {
	return fmt.Sprintf("app_memory_percentiles.anon.d%02d.csv", day)
}

// The dataset has invocations and durations for 14 days, memory for 12.
const azureMemoryDays = 12

// AzureOptions select the excerpt FromAzure converts.
type AzureOptions struct {
	// Day of the dataset, 1..12.
	Day int
	// StartMinute (0-based) and Minutes select the invocation columns.
	StartMinute, Minutes int
}

// AzureReport counts what FromAzure dropped.
type AzureReport struct {
	Rows, Kept                                  int
	Duplicates, Uninvoked, ZeroDuration, NoJoin int
	InvalidStats                                int
}

// FromAzure converts one day of the raw Azure Functions 2019 dataset into a
// loader trace, with the semantics of the loader's sampler preprocessing:
// rows deduplicated on HashFunction (memory on HashApp) keeping the first;
// functions without invocations in the excerpt or with a zero mean duration
// removed; only functions present in all three files kept; and each app's
// memory (mean and percentiles, not SampleCount) split evenly among its kept
// functions. Functions whose statistics the generator cannot use (Count <= 0,
// decreasing percentiles) are dropped as well.
func FromAzure(rawDir string, opts AzureOptions) (*Trace, AzureReport, error) {
	var rep AzureReport
	if opts.Day < 1 || opts.Day > azureMemoryDays {
		return nil, rep, fmt.Errorf("trace: dataset day %d, want 1..%d (the dataset has memory files for those days only)", opts.Day, azureMemoryDays)
	}
	inv, err := readFile(filepath.Join(rawDir, AzureInvocationsFile(opts.Day)), readInvocations)
	if err != nil {
		return nil, rep, err
	}
	cols := inv.Minutes()
	if opts.Minutes <= 0 {
		opts.Minutes = cols - opts.StartMinute
	}
	if opts.StartMinute < 0 || opts.Minutes <= 0 || opts.StartMinute+opts.Minutes > cols {
		return nil, rep, fmt.Errorf("trace: excerpt [%d, %d) outside the %d minute columns", opts.StartMinute, opts.StartMinute+opts.Minutes, cols)
	}
	run, err := readFile(filepath.Join(rawDir, AzureDurationsFile(opts.Day)), func(c *csvFile) (*statsFile[DurationStats], error) {
		return readDurationsKeyed(c, statsKey{column: "HashFunction", keepFirst: true})
	})
	if err != nil {
		return nil, rep, err
	}
	mem, err := readFile(filepath.Join(rawDir, AzureMemoryFile(opts.Day)), func(c *csvFile) (*statsFile[MemoryStats], error) {
		return readMemoryKeyed(c, statsKey{column: "HashApp", keepFirst: true})
	})
	if err != nil {
		return nil, rep, err
	}

	rep.Rows = len(inv.Functions)
	seen := map[string]bool{}
	var kept []Function
	for _, f := range inv.Functions {
		if seen[f.HashFunction] {
			rep.Duplicates++
			continue
		}
		seen[f.HashFunction] = true
		f.Invocations = f.Invocations[opts.StartMinute : opts.StartMinute+opts.Minutes]
		if f.TotalInvocations(opts.Minutes) == 0 {
			rep.Uninvoked++
			continue
		}
		d, ok := run.rows[f.HashFunction]
		if ok && d.v.Average == 0 {
			rep.ZeroDuration++
			continue
		}
		m, mok := mem.rows[f.HashApp]
		if !ok || !mok {
			rep.NoJoin++
			continue
		}
		f.Duration, f.Memory = d.v, m.v
		if !usable(&f) {
			rep.InvalidStats++
			continue
		}
		f.Invocations = append([]int32(nil), f.Invocations...)
		kept = append(kept, f)
	}
	perApp := map[string]int{}
	for _, f := range kept {
		perApp[f.HashApp]++
	}
	for i := range kept {
		m := &kept[i].Memory
		n := float64(perApp[kept[i].HashApp])
		m.Average /= n
		for j := range m.Percentiles {
			m.Percentiles[j] /= n
		}
	}
	rep.Kept = len(kept)
	if len(kept) == 0 {
		return nil, rep, fmt.Errorf("trace: no usable function in day %d of %s", opts.Day, rawDir)
	}
	return &Trace{HasTrigger: inv.HasTrigger, Functions: kept}, rep, nil
}

// usable applies Load's checks to a joined function.
func usable(f *Function) bool {
	if f.Duration.Count <= 0 || f.Memory.SampleCount <= 0 {
		return false
	}
	for j := 1; j < len(f.Duration.Percentiles); j++ {
		if int(f.Duration.Percentiles[j]) < int(f.Duration.Percentiles[j-1]) {
			return false
		}
	}
	for j := 1; j < len(f.Memory.Percentiles); j++ {
		if int(f.Memory.Percentiles[j]) < int(f.Memory.Percentiles[j-1]) {
			return false
		}
	}
	return true
}
