// Package chain starts a whole Kubedirect chain in one process (reference hop
// logic, every hop a hop.Runtime with its own listener), over loopback gRPC
// (plaintext or mutual TLS) or in-memory links. Tests and benchmarks use it; so can a harness that needs a
// self-contained Kubedirect path.
package chain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/metrics"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Transport selects the links.
type Transport string

const (
	GRPC     Transport = "grpc"      // loopback TCP, 127.0.0.1
	GRPCMTLS Transport = "grpc-mtls" // the same with mutual TLS, every hop its own certificate
	Memory   Transport = "memory"    // in-process pipes
)

// Options configure a chain.
type Options struct {
	Nodes     int
	Transport Transport
	Registry  prometheus.Registerer // optional
	Observer  hop.Observer          // optional, shared by every hop
	LogCap    int                   // cache event log per hop (for ingress); 0 disables
}

// Chain is a running chain: autoscaler → deployment → replicaset → scheduler → nodes.
type Chain struct {
	Topology refhops.Topology
	Hops     map[string]*hop.Runtime
	Boxes    map[string]*refhops.Sandboxes
	Metrics  *metrics.Metrics

	opt     Options
	ctx     context.Context
	cancel  context.CancelFunc
	stops   map[string]context.CancelFunc
	waits   map[string]chan struct{}
	addrs   map[string]string
	dialer  link.Dialer
	grpcDlr *link.GRPCDialer
	mem     *link.MemNetwork
	// With mutual TLS each hop has its identity and its own dialer.
	creds   map[string]*link.Credentials
	dialers map[string]*link.GRPCDialer
	mu      sync.Mutex // guards Boxes' maps against concurrent readers
}

// Start builds and runs a chain until ctx ends or Close is called.
func Start(ctx context.Context, opt Options) (*Chain, error) {
	if opt.Nodes <= 0 {
		opt.Nodes = 1
	}
	c := &Chain{Hops: map[string]*hop.Runtime{}, Boxes: map[string]*refhops.Sandboxes{}, Metrics: metrics.New(opt.Registry),
		opt: opt, stops: map[string]context.CancelFunc{}, waits: map[string]chan struct{}{}, addrs: map[string]string{}}
	for i := 0; i < opt.Nodes; i++ {
		n := fmt.Sprintf("node-%d", i)
		c.Topology.Nodes = append(c.Topology.Nodes, n)
		c.Boxes[n] = refhops.NewSandboxes()
	}
	switch opt.Transport {
	case GRPC, "":
		c.grpcDlr = link.NewGRPCDialer()
		c.dialer = c.grpcDlr
	case GRPCMTLS:
		if err := c.issue(); err != nil {
			return nil, err
		}
	case Memory:
		c.mem = link.NewMemNetwork()
		c.dialer = c.mem
	default:
		return nil, fmt.Errorf("chain: unknown transport %q", opt.Transport)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	names := c.Topology.Names()
	listeners := map[string]link.Listener{}
	for _, n := range names[1:] {
		l, err := c.listen(n)
		if err != nil {
			c.closeListeners(listeners)
			c.cancel()
			return nil, err
		}
		listeners[n] = l
	}
	for _, n := range names {
		if err := c.startHop(n, listeners[n]); err != nil {
			c.closeListeners(listeners)
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Chain) listen(n string) (link.Listener, error) {
	if c.mem != nil {
		c.addrs[n] = n
		return c.mem.Listen(n)
	}
	addr := c.addrs[n]
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chain: listen for %s: %w", n, err)
	}
	var opts []grpc.ServerOption
	if c.creds != nil {
		opts = append(opts, c.creds[n].ServerOption(c.Topology.Config(n).Upstream))
	}
	gl := link.ListenGRPC(lis, opts...)
	c.addrs[n] = gl.Addr().String()
	return gl, nil
}

// issue makes a CA for the chain and a certificate for every hop.
func (c *Chain) issue() error {
	ca, err := pki.NewCA("kubedirect-chain")
	if err != nil {
		return err
	}
	c.creds, c.dialers = map[string]*link.Credentials{}, map[string]*link.GRPCDialer{}
	for _, n := range c.Topology.Names() {
		kp, err := ca.Issue(link.HopCertificate(n))
		if err != nil {
			return err
		}
		if c.creds[n], err = link.NewCredentials(ca.Cert, kp.TLS()); err != nil {
			return err
		}
	}
	return nil
}

// startHop starts hop n empty (a node keeps its sandboxes, its durable truth).
func (c *Chain) startHop(n string, l link.Listener) error {
	cfg := c.Topology.Config(n)
	cfg.Incarnation = rand.Uint64()
	cfg.Clock = func() int64 { return time.Now().UnixNano() }
	cfg.Metrics = c.Metrics
	cfg.Observer = c.opt.Observer
	cfg.LogCap = c.opt.LogCap
	box := c.Boxes[n]
	if box != nil {
		c.mu.Lock()
		cfg.Initial = box.Records()
		c.mu.Unlock()
	}
	rcfg := hop.RuntimeConfig{Core: cfg, Listener: l, Dialer: c.dialer, Addrs: map[string]string{},
		Logic: c.Topology.Logic(n, box, fmt.Sprintf("%x.", cfg.Incarnation&0xffffff), cfg.Clock)}
	if box != nil {
		rcfg.Logic = &lockedLogic{Logic: rcfg.Logic, mu: &c.mu}
	}
	for _, d := range cfg.Downstreams {
		rcfg.Addrs[d] = c.addrs[d]
	}
	if c.creds != nil {
		peerAt := map[string]string{}
		for d, a := range rcfg.Addrs {
			peerAt[a] = d
		}
		d := link.NewMTLSDialer(c.creds[n], peerAt)
		c.mu.Lock()
		if old := c.dialers[n]; old != nil {
			old.Close() // the crashed incarnation's connections
		}
		c.dialers[n] = d
		c.mu.Unlock()
		rcfg.Dialer = d
	}
	rt, err := hop.NewRuntime(rcfg)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(c.ctx)
	done := make(chan struct{})
	c.mu.Lock()
	c.Hops[n], c.stops[n], c.waits[n] = rt, stop, done
	c.mu.Unlock()
	go func() { defer close(done); _ = rt.Run(ctx) }()
	return nil
}

// Hop returns the current runtime of hop n.
func (c *Chain) Hop(n string) *hop.Runtime {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Hops[n]
}

// Restart crashes hop n (its cache is lost; a node keeps its sandboxes) and
// starts it again on the same address with a new incarnation.
func (c *Chain) Restart(n string) error {
	c.mu.Lock()
	stop, done := c.stops[n], c.waits[n]
	c.mu.Unlock()
	if stop == nil {
		return fmt.Errorf("chain: no hop %q", n)
	}
	stop()
	<-done
	var l link.Listener
	if n != refhops.Autoscaler {
		var err error
		if l, err = c.listen(n); err != nil {
			return err
		}
	}
	return c.startHop(n, l)
}

func (c *Chain) closeListeners(ls map[string]link.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// lockedLogic lets Running read node sandboxes while the node's loop writes them.
type lockedLogic struct {
	hop.Logic
	mu *sync.Mutex
}

func (l *lockedLogic) Reconcile(s *cache.Store, dirty []wire.Key) []wire.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Logic.Reconcile(s, dirty)
}

func (l *lockedLogic) Released(r []wire.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Logic.Released(r)
}

// Close stops every hop and waits for them.
func (c *Chain) Close() {
	c.cancel()
	c.mu.Lock()
	waits := make([]chan struct{}, 0, len(c.waits))
	for _, w := range c.waits {
		waits = append(waits, w)
	}
	c.mu.Unlock()
	for _, w := range waits {
		<-w
	}
	if c.grpcDlr != nil {
		c.grpcDlr.Close()
	}
	for _, d := range c.dialers {
		d.Close()
	}
}

// WaitSynced waits until every hop has resynced downstream.
func (c *Chain) WaitSynced(ctx context.Context) error {
	for _, n := range c.Topology.Names() {
		if err := c.Hop(n).WaitSynced(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Scale sets the desired replicas of a Deployment at the autoscaler.
func (c *Chain) Scale(ctx context.Context, namespace, name string, replicas int32) error {
	return c.Hop(refhops.Autoscaler).Write(ctx, wire.Record{Kind: wire.KindDeployment, Namespace: namespace,
		Name: name, Replicas: replicas, Template: name + "-t"})
}

// Running counts running sandboxes of owner over all nodes, and stopped ones
// not yet released.
func (c *Chain) Running(owner string) (running, stopped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.Boxes {
		for _, r := range b.Running {
			if r.Owner == owner {
				running++
			}
		}
		for _, r := range b.Stopped {
			if r.Owner == owner {
				stopped++
			}
		}
	}
	return running, stopped
}

// SetSandboxHooks installs start/stop observers on every node.
func (c *Chain) SetSandboxHooks(onStart, onStop func(node string, r wire.Record)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.Boxes {
		b.OnStart, b.OnStop = onStart, onStop
	}
}

// WaitFor polls cond (every ms) until it holds or ctx ends.
func WaitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
