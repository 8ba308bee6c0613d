package nodeagent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	metricsNamespace = "kdbench"
	metricsSubsystem = "nodeagent"
)

// metrics are the agent's self-observation. pod_ready_lag_seconds is the "node-agent
// lag" self-check: the time from the agent seeing a pod bound to marking it Ready,
// minus the configured sandbox delay, i.e. what the simulator itself adds.
type metrics struct {
	readyLag           prometheus.Histogram
	statusUpdate       prometheus.Histogram
	podsStarted        prometheus.Counter
	podsDeleted        prometheus.Counter
	statusUpdateErrors prometheus.Counter
	deleteErrors       prometheus.Counter
	leaseRenewErrors   prometheus.Counter
	nodeStatusErrors   prometheus.Counter
	nodes              prometheus.Gauge
	pods               prometheus.Gauge
	orphansForgotten   prometheus.Counter
	registration       prometheus.Gauge
	sandboxDelay       prometheus.Gauge
}

func newMetrics() *metrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help}
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts(opts(name, help)))
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts(opts(name, help)))
	}
	return &metrics{
		readyLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem,
			Name: "pod_ready_lag_seconds",
			Help: "Time from the agent seeing a pod bound to its Ready status being written, minus the configured sandbox delay.",
			// 0.5ms .. ~33s: sub-millisecond when idle, seconds when the API server is saturated.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 17),
		}),
		statusUpdate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem,
			Name:    "pod_status_update_duration_seconds",
			Help:    "Latency of successful pod status writes to the API server: the share of the ready lag that is the API server's.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 17),
		}),
		podsStarted:        counter("pods_started_total", "Pods the agent marked Running and Ready."),
		podsDeleted:        counter("pods_deleted_total", "Terminating pods the agent deleted with grace period 0."),
		statusUpdateErrors: counter("pod_status_update_errors_total", "Failed pod status updates (each is retried)."),
		deleteErrors:       counter("pod_delete_errors_total", "Failed pod deletions (each is retried)."),
		leaseRenewErrors:   counter("lease_renew_errors_total", "Failed node Lease creations or renewals (each is retried)."),
		nodeStatusErrors:   counter("node_status_update_errors_total", "Failed node status heartbeats (each is retried)."),
		nodes:              gauge("nodes", "Simulated nodes registered and not deleted."),
		pods:               gauge("pods", "Pods bound to the agent's nodes that it is tracking."),
		orphansForgotten:   counter("orphan_pods_forgotten_total", "Tracked pods that housekeeping found gone from the API server without the pod informer having reported their deletion."),
		registration:       gauge("node_registration_duration_seconds", "Time the agent took to register all its nodes and their Leases."),
		sandboxDelay:       gauge("sandbox_delay_seconds", "The configured delay between a pod being bound and marked Ready."),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		m.readyLag, m.statusUpdate, m.podsStarted, m.podsDeleted, m.statusUpdateErrors, m.deleteErrors,
		m.leaseRenewErrors, m.nodeStatusErrors, m.nodes, m.pods, m.orphansForgotten, m.registration, m.sandboxDelay,
	} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("nodeagent: registering metrics: %w", err)
		}
	}
	return nil
}
