package scrape

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Harness metrics: what the harness itself did, for --metrics-addr.
var (
	registry = prometheus.NewRegistry()

	PodsReady = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kdbench_pods_ready_total", Help: "Pods the harness saw turn Ready during bursts.",
	}, []string{"system"})
	BurstSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kdbench_burst_duration_seconds", Help: "Time from a burst's scale requests to its last pod Ready.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"system"})
	RepsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kdbench_repetitions_total", Help: "Repetitions finished, by outcome.",
	}, []string{"system", "outcome"})
)

func init() {
	registry.MustRegister(PodsReady, BurstSeconds, RepsTotal,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Serve exposes the harness metrics on addr until stop is called.
func Serve(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the run goes on without its metrics endpoint
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
