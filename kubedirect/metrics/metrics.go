// Package metrics holds the Prometheus metrics of Kubedirect links. Labels are
// bounded: hop and peer are configured hop names, direction is "in" or "out",
// reason is one of a fixed set.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Invalidation reasons.
const (
	ReasonDisconnect = "disconnect" // link to a live peer broke and came back
	ReasonPeerCrash  = "peer_crash" // peer came back with a new incarnation
)

// Metrics is one registry's set of link metrics.
type Metrics struct {
	Frames        *prometheus.CounterVec   // hop, peer, direction
	Ops           *prometheus.CounterVec   // hop, peer, direction
	Bytes         *prometheus.CounterVec   // hop, peer, direction
	EpochChanges  *prometheus.CounterVec   // hop, peer
	Invalidations *prometheus.CounterVec   // hop, peer, reason
	StaleFrames   *prometheus.CounterVec   // hop, peer
	Releases      *prometheus.CounterVec   // hop
	QueueDepth    *prometheus.GaugeVec     // hop, peer
	Latency       *prometheus.HistogramVec // hop, peer: receive time − send time
}

// New creates the metrics and registers them with reg (if not nil).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_link_messages_total", Help: "Frames sent or received on a Kubedirect link.",
		}, []string{"hop", "peer", "direction"}),
		Ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_link_ops_total", Help: "Record operations sent or received on a Kubedirect link.",
		}, []string{"hop", "peer", "direction"}),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_link_bytes_total", Help: "Encoded frame bytes sent or received on a Kubedirect link.",
		}, []string{"hop", "peer", "direction"}),
		EpochChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_link_epoch_changes_total", Help: "Handshakes that opened a new epoch on a link.",
		}, []string{"hop", "peer"}),
		Invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_cache_invalidations_total", Help: "Cache views of a peer invalidated, by reason.",
		}, []string{"hop", "peer", "reason"}),
		StaleFrames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_link_stale_frames_total", Help: "Frames rejected because they carried a stale epoch.",
		}, []string{"hop", "peer"}),
		Releases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubedirect_tombstones_released_total", Help: "Tombstones garbage-collected after tail confirmation.",
		}, []string{"hop"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kubedirect_link_queue_depth", Help: "Frames queued for sending on a link.",
		}, []string{"hop", "peer"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kubedirect_link_latency_seconds",
			Help:    "Frame receive time minus send time (same-clock hops only).",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 16),
		}, []string{"hop", "peer"}),
	}
	if reg != nil {
		reg.MustRegister(m.Frames, m.Ops, m.Bytes, m.EpochChanges, m.Invalidations,
			m.StaleFrames, m.Releases, m.QueueDepth, m.Latency)
	}
	return m
}
