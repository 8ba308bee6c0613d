package dirigent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// pathPrometheus is where every component serves its Prometheus metrics.
const pathPrometheus = "/metrics"

// Sandbox creation and dispatch times span a few ms (warm) to the 30 s
// dispatch timeout.
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 2, 16)

type cpMetrics struct {
	creations        prometheus.Counter
	creationFailures prometheus.Counter
	creationSeconds  prometheus.Histogram
	workerFailures   prometheus.Counter
}

// newCPMetrics registers the control plane's metrics; functions and workers
// are read from its state at scrape time.
func newCPMetrics(reg *prometheus.Registry, cp *ControlPlane) *cpMetrics {
	m := &cpMetrics{
		creations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dirigent_sandbox_creations_total", Help: "Sandboxes that became Ready."}),
		creationFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dirigent_sandbox_creation_failures_total", Help: "Sandbox creations a worker failed or did not answer."}),
		creationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "dirigent_sandbox_creation_duration_seconds", Help: "From placement to Ready, per sandbox.", Buckets: latencyBuckets}),
		workerFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dirigent_worker_failures_total", Help: "Workers declared dead for missed heartbeats."}),
	}
	count := func(f func() int) func() float64 {
		return func() float64 {
			cp.mu.Lock()
			defer cp.mu.Unlock()
			return float64(f())
		}
	}
	reg.MustRegister(m.creations, m.creationFailures, m.creationSeconds, m.workerFailures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dirigent_functions", Help: "Registered functions."},
			count(func() int { return len(cp.functions) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dirigent_workers", Help: "Workers alive."},
			count(func() int { return len(cp.workers) })))
	return m
}

type dpMetrics struct {
	invocations *prometheus.CounterVec
	coldStarts  prometheus.Counter
	waitSeconds prometheus.Histogram
}

// Invocation outcomes, a bounded label.
const (
	outcomeCompleted       = "completed"
	outcomeDispatchTimeout = "dispatch_timeout"
	outcomeUnknown         = "unknown_function"
	outcomeFailed          = "failed"
)

func newDPMetrics(reg *prometheus.Registry) *dpMetrics {
	m := &dpMetrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dirigent_invocations_total", Help: "Invocations by outcome."}, []string{"outcome"}),
		coldStarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dirigent_cold_starts_total", Help: "Invocations that found no free sandbox on arrival."}),
		waitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "dirigent_dispatch_wait_seconds", Help: "Time an invocation waited for a sandbox.", Buckets: latencyBuckets}),
	}
	reg.MustRegister(m.invocations, m.coldStarts, m.waitSeconds)
	return m
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
