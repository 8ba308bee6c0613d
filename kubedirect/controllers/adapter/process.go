package adapter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"k8s.io/component-base/metrics/legacyregistry"
	_ "k8s.io/component-base/metrics/prometheus/workqueue" // upstream controllers' workqueue metrics

	"github.com/kdbench/kdbench/internal/procid"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/metrics"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// HopConfig is one Kubedirect hop of a controller process.
type HopConfig struct {
	Name     string
	Upstream string // "" at the head
	Listen   string // address the upstream peer dials; "" at the head
	// Listener, if set, is Listen already bound (a process that must
	// announce the address before the hop starts, as a node agent).
	Listener net.Listener
	Down     map[string]string // downstream peer → address
	// Dynamic lets the hop link to downstream peers added at run time
	// (Hop.AddDownstream), named <hop>@<instance> (hop.PeerHop).
	Dynamic bool
	Router  hop.Router
	Logic   hop.Logic
	Initial []wire.Record
	// OnReleased is told about collected tombstones (node agent).
	OnReleased func([]wire.Record)
	// Registry receives the link metrics; nil makes one with the Go and
	// process collectors (a process whose only registry it is).
	Registry *prometheus.Registry
	// TLS, if set, is the hop's link identity: its listener then accepts
	// only Upstream and it dials each of Down expecting that very hop.
	// nil: plaintext links.
	TLS *link.Credentials
}

// Hop is a running hop with its observability.
type Hop struct {
	*hop.Runtime
	Registry *prometheus.Registry
	Log      *HopLog
	Addr     string // where the listener listens ("" at the head)

	mu     sync.Mutex
	peerAt map[string]string // address → hop expected there (mutual TLS)
}

// AddDownstream links the hop to a downstream peer at addr that appeared at
// run time (HopConfig.Dynamic); with mutual TLS, addr must present the
// certificate of the peer's hop (hop.PeerHop).
func (h *Hop) AddDownstream(ctx context.Context, peer, addr string) error {
	h.mu.Lock()
	h.peerAt[addr] = hop.PeerHop(peer)
	h.mu.Unlock()
	return h.Runtime.AddDownstream(ctx, peer, addr)
}

func (h *Hop) expectedAt(addr string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	peer, ok := h.peerAt[addr]
	return peer, ok
}

// StartHop starts a hop's runtime; it runs until ctx ends.
func StartHop(ctx context.Context, c HopConfig) (*Hop, error) {
	reg := c.Registry
	if reg == nil {
		// No Go/process collectors here: every process's /metrics already
		// gathers them once (component-base's legacy registry or its own), and
		// a second copy makes the whole scrape fail.
		reg = prometheus.NewRegistry()
	}
	h := &Hop{Registry: reg, Log: NewHopLog(0), peerAt: map[string]string{}}
	var down []string
	for d := range c.Down {
		down = append(down, d)
	}
	rc := hop.RuntimeConfig{
		Core: hop.Config{Name: c.Name, Upstream: c.Upstream, Downstreams: down, Router: c.Router,
			Incarnation: rand.Uint64(), LogCap: 1 << 16, Metrics: metrics.New(reg), Observer: h.Log, Initial: c.Initial},
		Logic: c.Logic, OnReleased: c.OnReleased, Addrs: c.Down,
	}
	if c.TLS != nil && c.TLS.Hop != c.Name {
		return nil, fmt.Errorf("hop %s: link certificate names hop %q", c.Name, c.TLS.Hop)
	}
	if len(down) > 0 || c.Dynamic {
		rc.Dialer = link.NewGRPCDialer()
		if c.TLS != nil {
			for peer, addr := range c.Down {
				h.peerAt[addr] = hop.PeerHop(peer)
			}
			rc.Dialer = link.NewMTLSDialerFunc(c.TLS, h.expectedAt)
		}
	}
	if c.Upstream != "" {
		lis := c.Listener
		if lis == nil {
			var err error
			if lis, err = net.Listen("tcp", c.Listen); err != nil {
				return nil, fmt.Errorf("hop %s: listen %s: %w", c.Name, c.Listen, err)
			}
		}
		h.Addr = lis.Addr().String()
		var opts []grpc.ServerOption
		if c.TLS != nil {
			opts = append(opts, c.TLS.ServerOption(c.Upstream))
		}
		rc.Listener = link.ListenGRPC(lis, opts...)
	}
	rt, err := hop.NewRuntime(rc)
	if err != nil {
		if rc.Listener != nil {
			rc.Listener.Close()
		}
		return nil, err
	}
	h.Runtime = rt
	go func() { _ = rt.Run(ctx) }()
	return h, nil
}

// Serve serves /metrics (link, process and upstream workqueue metrics),
// /hops (per-record arrival times) and /readyz (the hop resynced downstream)
// on addr until ctx ends.
func (h *Hop) Serve(ctx context.Context, addr string, ready func() bool) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("hop %s: metrics address %s: %w", h.Name(), addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.Gatherers{h.Registry, legacyregistry.DefaultGatherer}, promhttp.HandlerOpts{}))
	mux.Handle("/hops", h.Log)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-h.Synced():
			if ready == nil || ready() {
				fmt.Fprintln(w, "ok")
				return
			}
		default:
		}
		http.Error(w, "not synced", http.StatusServiceUnavailable)
	})
	srv := &http.Server{Handler: procid.Handler(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), nil
}

// KindTo routes records of kind k to peer.
func KindTo(k wire.Kind, peer string) func(*wire.Record) string {
	return func(r *wire.Record) string {
		if r.Kind == k {
			return peer
		}
		return ""
	}
}

// IsKind reports records of kind k upstream.
func IsKind(k wire.Kind) func(*wire.Record) bool {
	return func(r *wire.Record) bool { return r.Kind == k }
}
