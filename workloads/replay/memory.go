package replay

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// MemorySample is one reading of the harness's memory.
type MemorySample struct {
	At time.Time
	// RSS is the process's resident set (VmRSS), Heap the Go heap in use
	// (runtime.MemStats.HeapAlloc), in bytes.
	RSS, Heap uint64
	// Components is the resident set of each cluster component, if known.
	Components map[string]uint64
}

// MemoryReader reads the harness's memory now.
type MemoryReader func() (MemorySample, error)

// ComponentRSS reads each cluster component's resident set
// (local.Provider.RSSBytes for a named cluster).
type ComponentRSS func() (map[string]uint64, error)

// ProcessMemory reads this process's VmRSS and Go heap, and the components'
// resident sets if components is not nil.
func ProcessMemory(components ComponentRSS) MemoryReader {
	return func() (MemorySample, error) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, err := selfRSS()
		s := MemorySample{RSS: rss, Heap: ms.HeapAlloc}
		if err == nil && components != nil {
			s.Components, err = components()
		}
		return s, err
	}
}

// MemorySummary is the harness's memory over a trial: the replay's answer
// to "does a long replay stay bounded".
type MemorySummary struct {
	IntervalSeconds float64 `json:"intervalSeconds"`
	Samples         int     `json:"samples"`
	PeakRSSBytes    uint64  `json:"peakRSSBytes"`
	PeakHeapBytes   uint64  `json:"peakHeapBytes"`
	// RSS at the first sample of the measured window (after warm-up) and at
	// the last sample, and the slope between them.
	RSSAtMeasuredStartBytes uint64  `json:"rssAtMeasuredStartBytes"`
	RSSAtEndBytes           uint64  `json:"rssAtEndBytes"`
	RSSGrowthBytesPerMinute float64 `json:"rssGrowthBytesPerMinute"`
	// ComponentsPeakRSSBytes is each cluster component's peak resident set.
	ComponentsPeakRSSBytes map[string]uint64 `json:"componentsPeakRSSBytes,omitempty"`
	// ReadErrors counts samples that could not be read.
	ReadErrors int `json:"readErrors,omitempty"`
}

// MemorySampler reads memory every Interval until stopped. Its samples are
// few (one per interval), so it keeps them all.
type MemorySampler struct {
	Read     MemoryReader
	Interval time.Duration
	Clock    clock.Clock // nil: the wall clock
	// OnPeak, if set, is called (from the sampling goroutine) with each
	// sample whose Go heap tops the previous peak by 10% or more, the first
	// included: the replay writes a heap profile there, so a large heap
	// comes with what holds it.
	OnPeak func(MemorySample)

	mu       sync.Mutex
	samples  []MemorySample
	peakHeap uint64 // as of the last OnPeak
	errs     int
	stop     context.CancelFunc
	done     chan struct{}
}

// Start takes a first sample and then one per interval.
func (m *MemorySampler) Start() {
	if m.Clock == nil {
		m.Clock = clock.RealClock{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop, m.done = cancel, make(chan struct{})
	m.sample()
	go func() {
		defer close(m.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.Clock.After(m.Interval):
				m.sample()
			}
		}
	}()
}

// Stop takes a last sample and summarises the samples; the measured window
// starts at measuredFrom.
func (m *MemorySampler) Stop(measuredFrom time.Time) MemorySummary {
	m.stop()
	<-m.done
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := SummariseMemory(m.samples, measuredFrom)
	s.IntervalSeconds, s.ReadErrors = m.Interval.Seconds(), m.errs
	return s
}

func (m *MemorySampler) sample() {
	s, err := m.Read()
	s.At = m.Clock.Now()
	m.mu.Lock()
	if err != nil {
		m.errs++
		if s.RSS == 0 {
			m.mu.Unlock()
			return
		}
	}
	m.samples = append(m.samples, s)
	peak := m.OnPeak != nil && s.Heap > 0 && (m.peakHeap == 0 || s.Heap >= m.peakHeap+m.peakHeap/10)
	if peak {
		m.peakHeap = s.Heap
	}
	m.mu.Unlock()
	if peak {
		m.OnPeak(s)
	}
}

// SummariseMemory summarises samples in time order; the measured window
// starts at the first sample at or after measuredFrom (the last sample if
// none is).
func SummariseMemory(samples []MemorySample, measuredFrom time.Time) MemorySummary {
	out := MemorySummary{Samples: len(samples)}
	if len(samples) == 0 {
		return out
	}
	for _, s := range samples {
		out.PeakRSSBytes = max(out.PeakRSSBytes, s.RSS)
		out.PeakHeapBytes = max(out.PeakHeapBytes, s.Heap)
		for c, v := range s.Components {
			if out.ComponentsPeakRSSBytes == nil {
				out.ComponentsPeakRSSBytes = map[string]uint64{}
			}
			out.ComponentsPeakRSSBytes[c] = max(out.ComponentsPeakRSSBytes[c], v)
		}
	}
	first, last := samples[len(samples)-1], samples[len(samples)-1]
	for _, s := range samples {
		if !s.At.Before(measuredFrom) {
			first = s
			break
		}
	}
	out.RSSAtMeasuredStartBytes, out.RSSAtEndBytes = first.RSS, last.RSS
	if d := last.At.Sub(first.At); d > 0 {
		out.RSSGrowthBytesPerMinute = (float64(last.RSS) - float64(first.RSS)) / d.Minutes()
	}
	return out
}

const mib = 1 << 20

// String is a one-line summary in MiB.
func (m MemorySummary) String() string {
	return fmt.Sprintf("memory: peak RSS %.1f MiB (Go heap %.1f MiB), RSS %.1f → %.1f MiB over the measured window, %+.2f MiB/min (%d samples)",
		float64(m.PeakRSSBytes)/mib, float64(m.PeakHeapBytes)/mib, float64(m.RSSAtMeasuredStartBytes)/mib,
		float64(m.RSSAtEndBytes)/mib, m.RSSGrowthBytesPerMinute/mib, m.Samples)
}
