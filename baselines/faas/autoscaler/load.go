package autoscaler

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
	"knative.dev/serving/pkg/autoscaler/aggregation"
	"knative.dev/serving/pkg/autoscaler/metrics"
)

// meter integrates one function's concurrency (in-flight + queued) over
// time, so a sample is the time-weighted average since the previous one, as
// the activator's stats are.
type meter struct {
	current int
	last    time.Time // of the last change or sample
	since   time.Time // of the last sample
	area    float64   // concurrency × seconds since the last sample
}

func (m *meter) add(now time.Time, delta int) {
	m.advance(now)
	m.current += delta
	if m.current < 0 {
		m.current = 0
	}
}

func (m *meter) advance(now time.Time) {
	if !m.last.IsZero() && now.After(m.last) {
		m.area += float64(m.current) * now.Sub(m.last).Seconds()
	}
	if m.last.IsZero() || now.After(m.last) {
		m.last = now
	}
	if m.since.IsZero() {
		m.since = now
	}
}

// sample returns the average concurrency since the previous sample.
func (m *meter) sample(now time.Time) float64 {
	m.advance(now)
	span := now.Sub(m.since).Seconds()
	avg := float64(m.current)
	if span > 0 {
		avg = m.area / span
	}
	m.area, m.since = 0, now
	return avg
}

// windows are Knative's stable and panic bucket windows over the sampled
// concurrency; they implement metrics.MetricClient for one function, the way
// Knative's MetricCollector does for a scraped revision.
type windows struct {
	stable, panic *aggregation.TimedFloat64Buckets
}

var _ metrics.MetricClient = (*windows)(nil)

func newWindows(c Config) *windows {
	return &windows{
		stable: aggregation.NewTimedFloat64Buckets(c.StableWindow, c.Granularity),
		panic:  aggregation.NewTimedFloat64Buckets(c.PanicWindow, c.Granularity),
	}
}

func (w *windows) record(now time.Time, concurrency float64) {
	w.stable.Record(now, concurrency)
	w.panic.Record(now, concurrency)
}

func (w *windows) StableAndPanicConcurrency(_ types.NamespacedName, now time.Time) (float64, float64, error) {
	if w.stable.IsEmpty(now) {
		return 0, 0, metrics.ErrNoData
	}
	return w.stable.WindowAverage(now), w.panic.WindowAverage(now), nil
}

// StableAndPanicRPS is unused: functions scale on concurrency.
func (w *windows) StableAndPanicRPS(types.NamespacedName, time.Time) (float64, float64, error) {
	return 0, 0, metrics.ErrNoData
}
