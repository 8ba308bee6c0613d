package trace

// File names inside a trace directory, as the loader expects them.
const (
	InvocationsFile = "invocations.csv"
	DurationsFile   = "durations.csv"
	MemoryFile      = "memory.csv"
)

// The loader parses at most one day of per-minute columns.
const maxColumns = 1440

// Column names of durations.csv; DurationPercentileColumns are in the order of
// DurationStats.Percentiles.
var (
	durationStatColumns       = []string{"Average", "Count", "Minimum", "Maximum"}
	DurationPercentileColumns = []string{
		"percentile_Average_0", "percentile_Average_1", "percentile_Average_25",
		"percentile_Average_50", "percentile_Average_75", "percentile_Average_99",
		"percentile_Average_100",
	}
	memoryStatColumns       = []string{"SampleCount", "AverageAllocatedMb"}
	MemoryPercentileColumns = []string{
		"AverageAllocatedMb_pct1", "AverageAllocatedMb_pct5", "AverageAllocatedMb_pct25",
		"AverageAllocatedMb_pct50", "AverageAllocatedMb_pct75", "AverageAllocatedMb_pct95",
		"AverageAllocatedMb_pct99", "AverageAllocatedMb_pct100",
	}
	hashColumns = []string{"HashOwner", "HashApp", "HashFunction"}
)

// Percentile levels (in percent) of DurationStats.Percentiles and MemoryStats.Percentiles.
var (
	DurationPercentiles = [7]float64{0, 1, 25, 50, 75, 99, 100}
	MemoryPercentiles   = [8]float64{1, 5, 25, 50, 75, 95, 99, 100}
)

// Trace is one loader trace directory. Functions keep the row order of
// invocations.csv, which is the order the generator draws random numbers in.
type Trace struct {
	// HasTrigger records whether invocations.csv has a Trigger column.
	HasTrigger bool
	Functions  []Function
}

// Function is one row of invocations.csv joined (on HashFunction) with its
// rows of durations.csv and memory.csv.
type Function struct {
	HashOwner    string
	HashApp      string
	HashFunction string
	Trigger      string
	// Invocations per minute (per second for second-granularity traces).
	Invocations []int32

	Duration DurationStats
	Memory   MemoryStats
}

// DurationStats is a durations.csv row; all values in milliseconds except Count.
type DurationStats struct {
	HashOwner, HashApp string
	Average            float64
	Count              float64
	Minimum            float64
	Maximum            float64
	// Percentiles 0, 1, 25, 50, 75, 99, 100.
	Percentiles [7]float64
}

// MemoryStats is a memory.csv row; all values in MiB except SampleCount.
type MemoryStats struct {
	HashOwner, HashApp string
	SampleCount        float64
	Average            float64
	// Percentiles 1, 5, 25, 50, 75, 95, 99, 100.
	Percentiles [8]float64
}

// Minutes is the number of per-minute (or per-second) columns of the trace:
// the shortest row, which bounds how long a generated schedule can be.
func (t *Trace) Minutes() int {
	if len(t.Functions) == 0 {
		return 0
	}
	m := len(t.Functions[0].Invocations)
	for i := range t.Functions {
		m = min(m, len(t.Functions[i].Invocations))
	}
	return m
}

// TotalInvocations sums the first minutes columns of the function's counts.
func (f *Function) TotalInvocations(minutes int) int64 {
	var s int64
	for i, n := range f.Invocations {
		if i >= minutes {
			break
		}
		s += int64(n)
	}
	return s
}
