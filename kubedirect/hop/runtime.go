package hop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/metrics"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// RuntimeConfig configures a hop process.
type RuntimeConfig struct {
	Core Config
	// Logic, if set, runs synchronously after every event (reference hops).
	// Wrapped controllers leave it nil and use Store/Write via ingress/egress.
	Logic Logic
	// OnReleased, if set, is told about collected tombstones when Logic is nil
	// (e.g. a node agent forgetting terminated sandboxes).
	OnReleased func([]wire.Record)
	Listener   link.Listener     // accepts the upstream peer; nil at the head
	Dialer     link.Dialer       // opens streams to downstream peers
	Addrs      map[string]string // downstream peer → address
	Backoff    link.Backoff      // reconnect delays; default 5ms … 1s
}

// Runtime runs a hop: one event loop goroutine owns the Core; reader, writer
// and dialer goroutines per link feed it.
type Runtime struct {
	cfg      RuntimeConfig
	core     *Core
	events   chan func()
	up       *rconn
	down     map[string]*rconn
	runCtx   context.Context               // Run's, for dial loops started later
	dials    map[string]context.CancelFunc // dial loops of peers added at run time
	synced   chan struct{}
	syncOne  sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
	logicErr atomic.Pointer[error]
}

// NewRuntime creates a hop; Run starts it.
func NewRuntime(cfg RuntimeConfig) (*Runtime, error) {
	if cfg.Core.Clock == nil {
		cfg.Core.Clock = func() int64 { return time.Now().UnixNano() }
	}
	core, err := NewCore(cfg.Core)
	if err != nil {
		return nil, err
	}
	for _, d := range cfg.Core.Downstreams {
		if _, ok := cfg.Addrs[d]; !ok {
			return nil, fmt.Errorf("hop %s: no address for downstream %q", cfg.Core.Name, d)
		}
	}
	if len(cfg.Core.Downstreams) > 0 && cfg.Dialer == nil {
		return nil, fmt.Errorf("hop %s: downstream peers but no dialer", cfg.Core.Name)
	}
	if cfg.Core.Upstream != "" && cfg.Listener == nil {
		return nil, fmt.Errorf("hop %s: upstream peer but no listener", cfg.Core.Name)
	}
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff = link.Backoff{Initial: 5 * time.Millisecond, Max: time.Second}
	}
	return &Runtime{cfg: cfg, core: core, events: make(chan func(), 4096), down: map[string]*rconn{}, dials: map[string]context.CancelFunc{},
		synced: make(chan struct{}), done: make(chan struct{})}, nil
}

// Name is the hop's name.
func (r *Runtime) Name() string { return r.cfg.Core.Name }

// Store is the hop's cache, safe for concurrent reads (ingress).
func (r *Runtime) Store() *cache.Store { return r.core.Store() }

// Synced is closed once every downstream peer has resynced with the hop.
func (r *Runtime) Synced() <-chan struct{} { return r.synced }

// WaitSynced blocks until Synced or ctx ends.
func (r *Runtime) WaitSynced(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hop %s: waiting for downstream resync: %w", r.Name(), ctx.Err())
	}
}

// Write applies local writes (egress) on the event loop and waits until they
// are in the cache and queued for their peers.
func (r *Runtime) Write(ctx context.Context, recs ...wire.Record) error {
	errc := make(chan error, 1)
	if err := r.do(ctx, func() {
		sends, err := r.core.Write(recs...)
		r.ship(sends)
		errc <- err
	}); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return errStopped
	}
}

// Inspect runs fn on the event loop with the Core (tests, debugging).
func (r *Runtime) Inspect(ctx context.Context, fn func(*Core)) error {
	ok := make(chan struct{})
	if err := r.do(ctx, func() { fn(r.core); close(ok) }); err != nil {
		return err
	}
	select {
	case <-ok:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return errStopped
	}
}

var errStopped = errors.New("hop: stopped")

func (r *Runtime) do(ctx context.Context, fn func()) error {
	select {
	case r.events <- fn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return errStopped
	}
}

// Run serves until ctx ends, then closes every stream.
func (r *Runtime) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.runCtx = ctx
	if r.cfg.Listener != nil {
		r.wg.Add(1)
		go r.accept(ctx)
	}
	for _, d := range r.cfg.Core.Downstreams {
		r.wg.Add(1)
		go r.dialLoop(ctx, d, r.cfg.Addrs[d])
	}
	r.after()
	for {
		select {
		case fn := <-r.events:
			// One pass: what is already queued is handled before the logic
			// runs, so bursts of frames are reconciled together, and each
			// peer gets one frame for the whole pass.
			r.core.Hold()
			fn()
			for n := 0; n < 256; n++ {
				select {
				case fn := <-r.events:
					fn()
					continue
				default:
				}
				break
			}
			r.after()
			r.ship(r.core.Release())
		case <-ctx.Done():
			close(r.done)
			if r.up != nil {
				r.up.close()
			}
			for _, c := range r.down {
				c.close()
			}
			if r.cfg.Listener != nil {
				r.cfg.Listener.Close()
			}
			r.wg.Wait()
			return nil
		}
	}
}

// after runs the logic and publishes the sync gate.
func (r *Runtime) after() {
	if r.core.Synced() {
		r.syncOne.Do(func() { close(r.synced) })
	}
	if r.cfg.Logic == nil {
		r.core.TakeDirty()
		if rel := r.core.TakeReleased(); len(rel) > 0 && r.cfg.OnReleased != nil {
			r.cfg.OnReleased(rel)
		}
		return
	}
	sends, err := Step(r.core, r.cfg.Logic)
	r.ship(sends)
	if err != nil {
		r.logicErr.Store(&err)
	}
}

// LogicErr returns the last error the hop's Logic caused (an invalid write).
func (r *Runtime) LogicErr() error {
	if p := r.logicErr.Load(); p != nil {
		return *p
	}
	return nil
}

// ship hands frames to the current stream of their peer and epoch; frames for
// a stream that has since been replaced are dropped (resync covers them).
func (r *Runtime) ship(sends []Send) {
	for _, s := range sends {
		c := r.down[s.Peer]
		if r.up != nil && r.up.peer == s.Peer {
			c = r.up
		}
		if c != nil && c.epoch == s.Frame.Epoch {
			c.enqueue(s.Frame)
		}
	}
}

func (r *Runtime) metrics() *metrics.Metrics { return r.cfg.Core.Metrics }

func (r *Runtime) accept(ctx context.Context) {
	defer r.wg.Done()
	for {
		conn, err := r.cfg.Listener.Accept(ctx)
		if err != nil {
			return
		}
		r.wg.Add(1)
		go r.serveUpstream(ctx, conn)
	}
}

// serveUpstream runs one stream opened by the upstream peer.
func (r *Runtime) serveUpstream(ctx context.Context, conn link.Conn) {
	defer r.wg.Done()
	defer conn.Close()
	f, size, recvNs, err := conn.Recv()
	if err != nil || f.Type != wire.FrameHello {
		return
	}
	c := r.newConn(f.From, conn)
	c.countIn(f, size)
	if r.do(ctx, func() {
		sends, err := r.core.OnHello(f, recvNs)
		if err != nil {
			c.close()
			return
		}
		if r.up != nil {
			r.up.close()
		}
		c.epoch = r.core.Epoch(f.From)
		r.up = c
		c.start(&r.wg)
		r.ship(sends)
	}) != nil {
		return
	}
	r.readLoop(ctx, c, func() {
		if r.up == c {
			r.core.OnDisconnect(c.peer, c.epoch)
			r.up = nil
		}
	})
}

// AddDownstream links the hop to a downstream peer that appeared at run time
// (Core.AddDownstream), dialling addr.
func (r *Runtime) AddDownstream(ctx context.Context, peer, addr string) error {
	if r.cfg.Dialer == nil {
		return fmt.Errorf("hop %s: downstream peer %q but no dialer", r.Name(), peer)
	}
	return r.call(ctx, func() error {
		if err := r.core.AddDownstream(peer); err != nil {
			return err
		}
		dctx, cancel := context.WithCancel(r.runCtx)
		r.dials[peer] = cancel
		r.wg.Add(1)
		go r.dialLoop(dctx, peer, addr)
		return nil
	})
}

// RemoveDownstream closes the link to a downstream peer that went away and
// forgets it (Core.RemoveDownstream).
func (r *Runtime) RemoveDownstream(ctx context.Context, peer string) error {
	return r.call(ctx, func() error {
		if cancel := r.dials[peer]; cancel != nil {
			cancel()
			delete(r.dials, peer)
		}
		if c := r.down[peer]; c != nil {
			c.close()
			delete(r.down, peer)
		}
		r.core.RemoveDownstream(peer)
		return nil
	})
}

// call runs fn on the event loop and returns its error.
func (r *Runtime) call(ctx context.Context, fn func() error) error {
	errc := make(chan error, 1)
	if err := r.do(ctx, func() { errc <- fn() }); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return errStopped
	}
}

// dialLoop keeps a stream open to a downstream peer at addr, redialling with
// backoff.
func (r *Runtime) dialLoop(ctx context.Context, peer, addr string) {
	defer r.wg.Done()
	b := r.cfg.Backoff
	for ctx.Err() == nil {
		conn, err := r.cfg.Dialer.Dial(ctx, addr)
		if err == nil {
			c := r.newConn(peer, conn)
			established := make(chan struct{}, 1)
			c.onReply = func() { established <- struct{}{} }
			if r.do(ctx, func() {
				hello, err := r.core.Connect(peer)
				if err != nil {
					c.close()
					return
				}
				if old := r.down[peer]; old != nil {
					old.close()
				}
				c.epoch = hello.Epoch
				r.down[peer] = c
				c.start(&r.wg)
				c.enqueue(hello)
			}) != nil {
				conn.Close()
				return
			}
			r.readLoop(ctx, c, func() {
				if r.down[peer] == c {
					r.core.OnDisconnect(peer, c.epoch)
					delete(r.down, peer)
				}
			})
			conn.Close()
			select {
			case <-established:
				b.Reset()
			default:
			}
		}
		select {
		case <-time.After(b.Next()):
		case <-ctx.Done():
			return
		}
	}
}

// readLoop feeds a stream's frames to the event loop until it breaks; gone
// runs on the event loop afterwards.
func (r *Runtime) readLoop(ctx context.Context, c *rconn, gone func()) {
	for {
		f, size, recvNs, err := c.conn.Recv()
		if err != nil {
			c.close()
			_ = r.do(ctx, gone)
			return
		}
		c.countIn(f, size)
		if r.do(ctx, func() {
			var sends []Send
			var err error
			if f.Type == wire.FrameHelloReply {
				if r.down[c.peer] != c {
					return // reply on an abandoned stream
				}
				sends, err = r.core.OnHelloReply(c.peer, f, recvNs)
				if err == nil {
					c.epoch = f.Epoch
					if c.onReply != nil {
						c.onReply()
					}
				}
			} else {
				sends, err = r.core.OnFrame(c.peer, f, recvNs)
			}
			if err != nil {
				// Stale or malformed: this stream is done; the peer redials
				// (or is redialled) into a fresh epoch.
				c.close()
				return
			}
			r.ship(sends)
		}) != nil {
			c.close()
			return
		}
	}
}

// rconn is a stream with its send queue and writer goroutine.
type rconn struct {
	r       *Runtime
	peer    string
	conn    link.Conn
	epoch   uint64
	onReply func()

	mu     sync.Mutex
	queue  []*wire.Frame
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (r *Runtime) newConn(peer string, conn link.Conn) *rconn {
	return &rconn{r: r, peer: peer, conn: conn, wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (c *rconn) close() {
	c.once.Do(func() {
		close(c.closed)
		c.conn.Close()
	})
}

func (c *rconn) enqueue(f *wire.Frame) {
	c.mu.Lock()
	c.queue = append(c.queue, f)
	n := len(c.queue)
	c.mu.Unlock()
	if m := c.r.metrics(); m != nil {
		m.QueueDepth.WithLabelValues(c.r.Name(), c.peer).Set(float64(n))
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *rconn) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		var batch []*wire.Frame
		for {
			select {
			case <-c.wake:
			case <-c.closed:
				return
			}
			c.mu.Lock()
			batch, c.queue = c.queue, batch[:0]
			c.mu.Unlock()
			for i, f := range batch {
				f.SentNs = time.Now().UnixNano()
				n, err := c.conn.Send(f)
				if err != nil {
					c.close()
					return
				}
				c.countOut(f, n)
				batch[i] = nil
			}
			if m := c.r.metrics(); m != nil {
				c.mu.Lock()
				n := len(c.queue)
				c.mu.Unlock()
				m.QueueDepth.WithLabelValues(c.r.Name(), c.peer).Set(float64(n))
			}
		}
	}()
}

func (c *rconn) countIn(f *wire.Frame, size int) { c.count(f, size, "in") }

func (c *rconn) countOut(f *wire.Frame, size int) { c.count(f, size, "out") }

func (c *rconn) count(f *wire.Frame, size int, dir string) {
	m := c.r.metrics()
	if m == nil {
		return
	}
	m.Frames.WithLabelValues(c.r.Name(), c.peer, dir).Inc()
	m.Ops.WithLabelValues(c.r.Name(), c.peer, dir).Add(float64(len(f.Ops)))
	m.Bytes.WithLabelValues(c.r.Name(), c.peer, dir).Add(float64(size))
}

// DropLinks breaks every stream of the hop (failure injection); the hop and
// its peers reconnect into new epochs and resync.
func (r *Runtime) DropLinks(ctx context.Context) error {
	return r.Inspect(ctx, func(*Core) {
		if r.up != nil {
			r.up.close()
		}
		for _, c := range r.down {
			c.close()
		}
	})
}
