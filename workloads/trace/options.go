package trace

import "fmt"

// IATDistribution selects how inter-arrival times are drawn within a minute;
// the values are the loader's IATDistribution config strings.
type IATDistribution string

const (
	Exponential      IATDistribution = "exponential"
	ExponentialShift IATDistribution = "exponential_shift"
	Uniform          IATDistribution = "uniform"
	UniformShift     IATDistribution = "uniform_shift"
	Equidistant      IATDistribution = "equidistant"
)

// IATDistributions lists the accepted distributions.
var IATDistributions = []IATDistribution{Exponential, ExponentialShift, Uniform, UniformShift, Equidistant}

// Granularity says whether a trace column is a minute or a second.
type Granularity string

const (
	Minute Granularity = "minute"
	Second Granularity = "second"
)

// DefaultSeed is the seed of the loader configs the papers used (the loader's
// code default is 0).
const DefaultSeed int64 = 42

// Options mirror the loader config fields that shape the generated schedule.
type Options struct {
	// Minutes is the number of trace columns to expand: the loader's
	// ExperimentDuration + WarmupDuration.
	Minutes int
	// Granularity defaults to Minute.
	Granularity Granularity
	// IAT defaults to Exponential.
	IAT IATDistribution
	// Seed is used as given; 0 is a valid seed (the loader's code default).
	// Start from DefaultOptions to get the papers' 42.
	Seed int64
	// MemoryLimit bounds the bytes of invocations held at once; a trace
	// that needs more is refused with ErrTooLarge before allocating.
	// 0 means the memory available (MemAvailable).
	MemoryLimit int64
}

// DefaultOptions are the papers' settings: 30 minutes, minute granularity,
// exponential inter-arrival times, seed 42.
func DefaultOptions() Options {
	return Options{Minutes: 30, Granularity: Minute, IAT: Exponential, Seed: DefaultSeed}
}

func (o Options) withDefaults() (Options, error) {
	if o.Granularity == "" {
		o.Granularity = Minute
	}
	if o.IAT == "" {
		o.IAT = Exponential
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = availableMemory()
	}
	if o.Granularity != Minute && o.Granularity != Second {
		return o, fmt.Errorf("trace: granularity %q, want minute or second", o.Granularity)
	}
	switch o.IAT {
	case Exponential, ExponentialShift, Uniform, UniformShift, Equidistant:
	default:
		return o, fmt.Errorf("trace: IAT distribution %q, want one of %v", o.IAT, IATDistributions)
	}
	if o.Minutes < 1 || o.Minutes > maxColumns {
		return o, fmt.Errorf("trace: %d minutes, want 1..%d", o.Minutes, maxColumns)
	}
	return o, nil
}

// unit is the length of one trace column in microseconds.
func (o Options) unit() float64 {
	if o.Granularity == Second {
		return 1_000_000
	}
	return 60_000_000
}

func (o Options) shift() bool { return o.IAT == ExponentialShift || o.IAT == UniformShift }
