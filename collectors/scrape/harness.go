package scrape

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kdbench/kdbench/collectors/selfcheck"
)

// The harness's own metrics, served by Serve (kdbench run --metrics-addr).
// Labels are bounded: system names and outcomes come from fixed lists,
// verbs from HTTP.
var (
	registry = prometheus.NewRegistry()

	// PodsReady counts burst pods the harness saw turn Ready.
	PodsReady = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kdbench_pods_ready_total", Help: "Burst pods the harness saw turn Ready.",
	}, []string{"system"})
	// PodE2ESeconds is each pod's burst start → Ready seen (the paper's e2e).
	PodE2ESeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kdbench_pod_e2e_seconds", Help: "Per pod, from its burst's scale requests to the harness seeing it Ready.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16), // 10 ms … 5.5 min
	}, []string{"system"})
	// BurstSeconds is a burst's start → its last pod Ready.
	BurstSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kdbench_burst_duration_seconds", Help: "From a burst's scale requests to its last pod Ready.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50 ms … 7 min
	}, []string{"system"})
	// RepsTotal counts finished repetitions by outcome (ok, failed).
	RepsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kdbench_repetitions_total", Help: "Repetitions finished, by outcome.",
	}, []string{"system", "outcome"})
	// RateLimiterWaitSeconds is how long the harness's client-go rate
	// limiters held each request: the throttle self-check's raw data.
	RateLimiterWaitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kdbench_client_rate_limiter_wait_seconds", Help: "Time the harness's client-go rate limiters held each request.",
		Buckets: []float64{1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
	}, []string{"verb"})
)

func init() {
	registry.MustRegister(PodsReady, PodE2ESeconds, BurstSeconds, RepsTotal, RateLimiterWaitSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// PodReadyObserver returns a function for timeline.Collector.OnReady that
// counts each pod and observes its e2e latency, live during the burst.
func PodReadyObserver(system string) func(pod string, sinceStart time.Duration) {
	ready, e2e := PodsReady.WithLabelValues(system), PodE2ESeconds.WithLabelValues(system)
	return func(_ string, d time.Duration) {
		ready.Inc()
		e2e.Observe(d.Seconds())
	}
}

var rateLimiterOnce sync.Once

// Handler serves the harness metrics in the Prometheus formats. The first
// call starts feeding RateLimiterWaitSeconds from client-go.
func Handler() http.Handler {
	rateLimiterOnce.Do(func() {
		selfcheck.OnRateLimiterWait(func(verb string, d time.Duration) {
			RateLimiterWaitSeconds.WithLabelValues(verb).Observe(d.Seconds())
		})
	})
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})
}

// Serve exposes the harness metrics at http://addr/metrics until stop is
// called; stop waits (briefly) for scrapes in flight.
func Serve(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	return ServeListener(ln), nil
}

// ServeListener is Serve on a listener the caller opened.
func ServeListener(ln net.Listener) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve ends with ErrServerClosed on stop; any other end leaves the
		// run going without its metrics endpoint, not worth failing it for.
		_ = srv.Serve(ln)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			<-done
		})
	}
}
