package direct

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests   *prometheus.CounterVec   // verb, result
	duration   *prometheus.HistogramVec // verb
	linkErrors prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kdbench_nodeagent_direct_api_requests_total",
			Help: "API server requests the direct-mode node agent made for pods that arrived over the link (Kubedirect's own API cost).",
		}, []string{"verb", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kdbench_nodeagent_direct_api_request_duration_seconds",
			Help:    "Latency of the direct-mode node agent's pod create and delete requests.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"verb"}),
		linkErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kdbench_nodeagent_direct_link_write_errors_total",
			Help: "Running reports that could not be written to the hop.",
		}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.linkErrors} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) observe(verb string, start time.Time, err error) {
	m.duration.WithLabelValues(verb).Observe(time.Since(start).Seconds())
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.requests.WithLabelValues(verb, result).Inc()
}
