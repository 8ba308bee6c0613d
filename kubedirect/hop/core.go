package hop

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/metrics"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Errors returned for frames the Core refuses. A refused frame changes no state.
var (
	ErrStaleEpoch  = errors.New("stale epoch")
	ErrProtocol    = errors.New("protocol violation")
	ErrUnknownPeer = errors.New("unknown peer")
)

// Router decides where a hop sends each record.
type Router interface {
	// Upstream reports whether the hop reports r to its upstream peer; records
	// that are not reported upstream start their segment at this hop, which
	// therefore releases their confirmed tombstones.
	Upstream(r *wire.Record) bool
	// Downstream names the downstream peer r is forwarded to, or "".
	Downstream(r *wire.Record) string
}

// Observer sees every accepted frame with its receive time, for per-hop
// latency breakdowns. It must not retain f.
type Observer interface {
	Received(hop, peer string, f *wire.Frame, recvNs int64)
}

// Config describes a hop.
type Config struct {
	Name        string
	Upstream    string   // upstream peer name; "" at the head of the chain
	Downstreams []string // downstream peer names
	Router      Router
	// Incarnation identifies this process lifetime; use a fresh random value
	// on every start.
	Incarnation uint64
	Clock       func() int64 // ns since the Unix epoch
	// Initial seeds the cache with durable truth (e.g. a node agent's running
	// sandboxes) when the hop starts.
	Initial        []wire.Record
	MaxOpsPerFrame int // default 1024
	LogCap         int // cache event log kept for watchers; 0 disables watching
	Metrics        *metrics.Metrics
	Observer       Observer
}

// Send is a frame for a peer.
type Send struct {
	Peer  string
	Frame *wire.Frame
}

type sessState uint8

const (
	stateDown sessState = iota
	stateHandshaking
	stateResync // client: epoch established, peer's truth still arriving
	stateUp
)

type session struct {
	peer      string
	client    bool // this hop is the client (peer is downstream)
	state     sessState
	epoch     uint64
	lastEpoch uint64
	sendSeq   uint64
	recvSeq   uint64
	// incarnation is the peer's, from the last handshake.
	incarnation uint64
	connected   bool // completed at least one handshake
	synced      bool // client: received the peer's full truth at least once
	// truthFrames is the number of batches after the handshake reply that
	// still belong to the peer's truth (client side, stateResync).
	truthFrames uint64
	// view is what the peer is known to hold in this epoch: what it told us
	// joined with what we sent it. Discarded on disconnect (invalidation).
	view map[wire.Key]wire.Record
	out  []wire.Op
}

// Core is a hop's protocol state machine.
type Core struct {
	cfg       Config
	store     *cache.Store
	up        *session
	down      map[string]*session
	downOrder []string
	unsynced  int
	dirty     map[wire.Key]struct{}
	released  []wire.Record
	hlc       uint64
	held      bool // Hold: ops wait in the sessions until Release
}

// NewCore returns the Core of a hop that has just started.
func NewCore(cfg Config) (*Core, error) {
	if cfg.Name == "" {
		return nil, errors.New("hop: empty name")
	}
	if cfg.Router == nil {
		return nil, fmt.Errorf("hop %s: no router", cfg.Name)
	}
	if cfg.Clock == nil {
		return nil, fmt.Errorf("hop %s: no clock", cfg.Name)
	}
	if cfg.MaxOpsPerFrame <= 0 {
		cfg.MaxOpsPerFrame = 1024
	}
	c := &Core{
		cfg:   cfg,
		store: cache.New(cfg.LogCap),
		down:  make(map[string]*session),
		dirty: make(map[wire.Key]struct{}),
	}
	if cfg.Upstream != "" {
		c.up = &session{peer: cfg.Upstream}
	}
	for _, d := range cfg.Downstreams {
		if d == "" || d == cfg.Upstream || c.down[d] != nil {
			return nil, fmt.Errorf("hop %s: bad or duplicate downstream peer %q", cfg.Name, d)
		}
		c.down[d] = &session{peer: d, client: true}
		c.downOrder = append(c.downOrder, d)
	}
	c.unsynced = len(c.down)
	for i := range cfg.Initial {
		r := cfg.Initial[i]
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("hop %s: initial %w", cfg.Name, err)
		}
		c.store.Merge(&r)
		c.dirty[r.Key()] = struct{}{}
	}
	return c, nil
}

// Name is the hop's name.
func (c *Core) Name() string { return c.cfg.Name }

// Config returns the hop's configuration.
func (c *Core) Config() Config { return c.cfg }

// Store is the hop's cache. Only the Core's driver may write it (via Core).
func (c *Core) Store() *cache.Store { return c.store }

// Synced reports whether every downstream peer has resynced with this hop
// since it started; until then its control logic must not act.
func (c *Core) Synced() bool { return c.unsynced == 0 }

// Established reports whether the link to peer is up.
func (c *Core) Established(peer string) bool {
	s := c.session(peer)
	return s != nil && s.state == stateUp
}

// Epoch returns the current epoch with peer (0 if none).
func (c *Core) Epoch(peer string) uint64 {
	if s := c.session(peer); s != nil {
		return s.epoch
	}
	return 0
}

// TakeDirty returns the keys changed since the last call, sorted.
func (c *Core) TakeDirty() []wire.Key {
	if len(c.dirty) == 0 {
		return nil
	}
	out := make([]wire.Key, 0, len(c.dirty))
	for k := range c.dirty {
		out = append(out, k)
	}
	clear(c.dirty)
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i], out[j]) })
	return out
}

// TakeReleased returns the records released (garbage-collected) since the last call.
func (c *Core) TakeReleased() []wire.Record {
	r := c.released
	c.released = nil
	return r
}

func keyLess(a, b wire.Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// PeerHop is the hop name a peer answers to on the wire: a downstream peer
// may be named <hop>@<instance>, one of several instances of one hop (the
// node agents below the scheduler), each with its own session.
func PeerHop(peer string) string {
	name, _, _ := strings.Cut(peer, "@")
	return name
}

// AddDownstream adds a downstream peer that appeared at run time (a node
// agent). Unlike the configured ones it does not hold back Synced: the hop
// already acts, and records reach the peer once its link resyncs.
func (c *Core) AddDownstream(peer string) error {
	if peer == "" || peer == c.cfg.Name || (c.up != nil && peer == c.up.peer) || c.down[peer] != nil {
		return fmt.Errorf("hop %s: bad or duplicate downstream peer %q", c.cfg.Name, peer)
	}
	c.down[peer] = &session{peer: peer, client: true, synced: true}
	c.downOrder = append(c.downOrder, peer)
	return nil
}

// RemoveDownstream forgets a downstream peer that went away. Records routed
// to it stay in the cache (they reach it again if it comes back); a peer the
// hop was still waiting for no longer holds back Synced.
func (c *Core) RemoveDownstream(peer string) {
	s := c.down[peer]
	if s == nil {
		return
	}
	c.drop(s)
	delete(c.down, peer)
	c.downOrder = slices.DeleteFunc(c.downOrder, func(d string) bool { return d == peer })
	if !s.synced {
		c.unsynced--
		if c.unsynced == 0 {
			recs, _ := c.store.List(0)
			for i := range recs {
				c.dirty[recs[i].Key()] = struct{}{}
			}
		}
	}
}

func (c *Core) session(peer string) *session {
	if c.up != nil && c.up.peer == peer {
		return c.up
	}
	return c.down[peer]
}

// Connect starts a handshake with downstream peer and returns the Hello to send
// on a fresh stream. Any previous epoch with peer ends.
func (c *Core) Connect(peer string) (*wire.Frame, error) {
	s := c.down[peer]
	if s == nil {
		return nil, fmt.Errorf("hop %s: connect to %q: %w", c.cfg.Name, peer, ErrUnknownPeer)
	}
	c.drop(s)
	s.state = stateHandshaking
	s.lastEpoch++
	s.epoch = s.lastEpoch
	return &wire.Frame{Type: wire.FrameHello, Epoch: s.epoch, SentNs: c.cfg.Clock(),
		Incarnation: c.cfg.Incarnation, From: c.cfg.Name, To: PeerHop(peer)}, nil
}

// OnHello handles an upstream peer's handshake: it opens a new epoch and
// returns the reply (first) followed by any frames that continue the truth.
func (c *Core) OnHello(f *wire.Frame, recvNs int64) ([]Send, error) {
	if f.Type != wire.FrameHello {
		return nil, fmt.Errorf("hop %s: handshake: got %s frame: %w", c.cfg.Name, f.Type, ErrProtocol)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("hop %s: handshake: %v: %w", c.cfg.Name, err, ErrProtocol)
	}
	if f.To != c.cfg.Name {
		return nil, fmt.Errorf("hop %s: handshake addressed to %q: %w", c.cfg.Name, f.To, ErrProtocol)
	}
	s := c.up
	if s == nil || f.From != s.peer {
		return nil, fmt.Errorf("hop %s: handshake from %q: %w", c.cfg.Name, f.From, ErrUnknownPeer)
	}
	c.drop(s)
	// The clock keeps epochs unique even when both sides forgot an epoch that
	// a dead stream still carries frames of (the server restarted and the
	// client never saw the reply).
	c.open(s, max(s.lastEpoch+1, f.Epoch, uint64(c.cfg.Clock())), f.Incarnation)
	c.observe(s, f, recvNs)
	recs, _ := c.store.List(0)
	var ops []wire.Op
	for i := range recs {
		if c.cfg.Router.Upstream(&recs[i]) {
			ops = append(ops, wire.Op{Type: wire.OpUpsert, Record: recs[i]})
			s.view[recs[i].Key()] = recs[i]
		}
	}
	n := min(len(ops), c.cfg.MaxOpsPerFrame)
	// Seq of a reply counts the batches that complete the truth; the client
	// acts on the truth only once it has all of it.
	more := (len(ops) - n + c.cfg.MaxOpsPerFrame - 1) / c.cfg.MaxOpsPerFrame
	reply := &wire.Frame{Type: wire.FrameHelloReply, Epoch: s.epoch, Seq: uint64(more), SentNs: c.cfg.Clock(),
		Incarnation: c.cfg.Incarnation, From: c.cfg.Name, To: s.peer, Ops: ops[:n:n]}
	s.out = ops[n:]
	return append([]Send{{Peer: s.peer, Frame: reply}}, c.flush()...), nil
}

// OnHelloReply handles a downstream peer's handshake reply: the epoch is
// established, the peer's truth merged, and everything it lacks re-forwarded.
func (c *Core) OnHelloReply(peer string, f *wire.Frame, recvNs int64) ([]Send, error) {
	s := c.down[peer]
	if s == nil {
		return nil, fmt.Errorf("hop %s: handshake reply from %q: %w", c.cfg.Name, peer, ErrUnknownPeer)
	}
	if s.state != stateHandshaking || f.Epoch < s.epoch {
		// A reply to a handshake this hop has since abandoned.
		return nil, fmt.Errorf("hop %s: handshake reply from %s for epoch %d, proposed %d: %w",
			c.cfg.Name, peer, f.Epoch, s.epoch, ErrStaleEpoch)
	}
	if f.Type != wire.FrameHelloReply || f.From != PeerHop(peer) || f.To != c.cfg.Name {
		return nil, fmt.Errorf("hop %s: bad handshake reply from %s (%s %s→%s epoch %d, proposed %d): %w",
			c.cfg.Name, peer, f.Type, f.From, f.To, f.Epoch, s.epoch, ErrProtocol)
	}
	if err := c.check(s, f); err != nil {
		return nil, err
	}
	c.open(s, f.Epoch, f.Incarnation)
	s.state, s.truthFrames = stateResync, f.Seq
	c.observe(s, f, recvNs)
	c.apply(s, f.Ops)
	if s.truthFrames == 0 {
		c.resynced(s)
	}
	return c.flush(), nil
}

// resynced completes a client-side handshake once the peer's whole truth is
// merged: the link is up, everything the peer lacks is re-forwarded, and the
// hop's logic may act once every downstream peer got here.
func (c *Core) resynced(s *session) {
	s.state = stateUp
	recs, _ := c.store.List(0)
	for i := range recs {
		if c.cfg.Router.Downstream(&recs[i]) == s.peer {
			c.offer(s, &recs[i])
		}
	}
	if !s.synced {
		s.synced = true
		c.unsynced--
		if c.unsynced == 0 {
			// The gate opens: the logic must look at everything once.
			for i := range recs {
				c.dirty[recs[i].Key()] = struct{}{}
			}
		}
	}
}

// open starts epoch e with peer and counts the invalidation it ends.
func (c *Core) open(s *session, e uint64, incarnation uint64) {
	if m := c.cfg.Metrics; m != nil {
		m.EpochChanges.WithLabelValues(c.cfg.Name, s.peer).Inc()
		if s.connected {
			reason := metrics.ReasonDisconnect
			if incarnation != s.incarnation {
				reason = metrics.ReasonPeerCrash
			}
			m.Invalidations.WithLabelValues(c.cfg.Name, s.peer, reason).Inc()
		}
	}
	s.state, s.epoch, s.lastEpoch = stateUp, e, e
	s.sendSeq, s.recvSeq = 0, 0
	s.incarnation = incarnation
	s.view = make(map[wire.Key]wire.Record)
	s.connected = true
}

// OnFrame handles a batch from peer.
func (c *Core) OnFrame(peer string, f *wire.Frame, recvNs int64) ([]Send, error) {
	s := c.session(peer)
	if s == nil {
		return nil, fmt.Errorf("hop %s: frame from %q: %w", c.cfg.Name, peer, ErrUnknownPeer)
	}
	if f.Type != wire.FrameBatch {
		return nil, fmt.Errorf("hop %s: %s frame from %s inside an epoch: %w", c.cfg.Name, f.Type, peer, ErrProtocol)
	}
	if (s.state != stateUp && s.state != stateResync) || f.Epoch != s.epoch {
		if m := c.cfg.Metrics; m != nil {
			m.StaleFrames.WithLabelValues(c.cfg.Name, peer).Inc()
		}
		return nil, fmt.Errorf("hop %s: frame from %s with epoch %d, current %d: %w", c.cfg.Name, peer, f.Epoch, s.epoch, ErrStaleEpoch)
	}
	if f.Seq != s.recvSeq+1 {
		return nil, fmt.Errorf("hop %s: frame from %s epoch %d: seq %d after %d: %w", c.cfg.Name, peer, f.Epoch, f.Seq, s.recvSeq, ErrProtocol)
	}
	if err := c.check(s, f); err != nil {
		return nil, err
	}
	s.recvSeq++
	c.observe(s, f, recvNs)
	c.apply(s, f.Ops)
	if s.state == stateResync && s.recvSeq == s.truthFrames {
		c.resynced(s)
	}
	return c.flush(), nil
}

// check validates every op of f against where it may come from, before any is
// applied, so that a bad frame changes nothing.
func (c *Core) check(s *session, f *wire.Frame) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("hop %s: from %s: %v: %w", c.cfg.Name, s.peer, err, ErrProtocol)
	}
	for i := range f.Ops {
		op := &f.Ops[i]
		var ok bool
		switch {
		case !s.client: // from upstream
			ok = c.cfg.Router.Upstream(&op.Record)
		case op.Type == wire.OpRelease: // releases only travel downstream
			ok = false
		default:
			ok = c.cfg.Router.Downstream(&op.Record) == s.peer
		}
		if !ok {
			return fmt.Errorf("hop %s: from %s op %d: %s %s does not belong on this link: %w",
				c.cfg.Name, s.peer, i, op.Type, op.Record.Key(), ErrProtocol)
		}
	}
	return nil
}

func (c *Core) observe(s *session, f *wire.Frame, recvNs int64) {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Received(c.cfg.Name, s.peer, f, recvNs)
	}
	if m := c.cfg.Metrics; m != nil && f.SentNs > 0 && recvNs >= f.SentNs {
		m.Latency.WithLabelValues(c.cfg.Name, s.peer).Observe(float64(recvNs-f.SentNs) / 1e9)
	}
}

func (c *Core) apply(s *session, ops []wire.Op) {
	for i := range ops {
		r := ops[i].Record
		if ops[i].Type == wire.OpRelease {
			c.release(&r)
			continue
		}
		c.merge(s, &r)
	}
}

// OnDisconnect ends the epoch with peer if it is still current (epoch 0 ends
// whatever is current). The view of the peer is invalidated.
func (c *Core) OnDisconnect(peer string, epoch uint64) {
	s := c.session(peer)
	if s == nil || s.state == stateDown || (epoch != 0 && epoch != s.epoch) {
		return
	}
	c.drop(s)
}

func (c *Core) drop(s *session) {
	s.state = stateDown
	s.view = nil
	s.out = nil
}

// Write applies local writes (the hop's control logic, via egress). Scale
// records without a Generation are stamped from the hop's logical clock.
func (c *Core) Write(recs ...wire.Record) ([]Send, error) {
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return nil, fmt.Errorf("hop %s: write: %w", c.cfg.Name, err)
		}
	}
	for i := range recs {
		r := recs[i]
		if r.Kind != wire.KindPod && r.Generation == 0 {
			c.hlc = max(c.hlc+1, uint64(c.cfg.Clock()))
			r.Generation = c.hlc
		}
		c.merge(nil, &r)
	}
	return c.flush(), nil
}

// merge joins r (from session src, nil for local writes) into the cache and
// propagates the result if it changed.
func (c *Core) merge(src *session, r *wire.Record) {
	k := r.Key()
	if src != nil {
		if v, ok := src.view[k]; ok {
			v.Merge(r)
			src.view[k] = v
		} else {
			src.view[k] = *r
		}
	}
	if r.Kind != wire.KindPod {
		c.hlc = max(c.hlc, r.Generation)
	}
	cur, changed := c.store.Merge(r)
	if !changed {
		return
	}
	c.dirty[k] = struct{}{}
	up := c.up != nil && c.cfg.Router.Upstream(&cur)
	if up {
		c.offer(c.up, &cur)
	}
	if d := c.cfg.Router.Downstream(&cur); d != "" {
		if s := c.down[d]; s != nil {
			c.offer(s, &cur)
		}
	}
	if cur.Phase == wire.PhaseTerminated && !up {
		// This hop heads the record's segment and the tail has confirmed the
		// tombstone: collect it here and downstream.
		c.release(&cur)
	}
}

// offer queues r for s unless s is down or already holds it.
func (c *Core) offer(s *session, r *wire.Record) {
	if s.state != stateUp && s.state != stateResync {
		return
	}
	k := r.Key()
	if v, ok := s.view[k]; ok {
		if v.Dominates(r) {
			return
		}
		v.Merge(r)
		s.view[k] = v
	} else {
		s.view[k] = *r
	}
	s.out = append(s.out, wire.Op{Type: wire.OpUpsert, Record: *r})
}

// release drops r here and forwards the release towards the tail.
func (c *Core) release(r *wire.Record) {
	k := r.Key()
	cur, ok := c.store.Delete(k)
	if !ok {
		cur = *r
	}
	if c.up != nil && c.up.view != nil {
		delete(c.up.view, k)
	}
	for _, s := range c.down {
		if s.view != nil {
			delete(s.view, k)
		}
	}
	if s := c.down[c.cfg.Router.Downstream(&cur)]; s != nil && (s.state == stateUp || s.state == stateResync) {
		s.out = append(s.out, wire.Op{Type: wire.OpRelease, Record: cur})
	}
	c.released = append(c.released, cur)
	if m := c.cfg.Metrics; m != nil {
		m.Releases.WithLabelValues(c.cfg.Name).Inc()
	}
}

// Hold defers framing: ops queued for peers wait until Release, so that a
// driver handling several events in one pass sends each peer one frame (up
// to MaxOpsPerFrame ops) for all of them rather than one per event. Frames
// other than batches (a handshake reply) still go out at once.
func (c *Core) Hold() { c.held = true }

// Release ends Hold and returns the frames of everything queued meanwhile.
func (c *Core) Release() []Send {
	c.held = false
	return c.flush()
}

// flush turns queued ops into frames (none while held).
func (c *Core) flush() []Send {
	if c.held {
		return nil
	}
	var out []Send
	emit := func(s *session) {
		for len(s.out) > 0 {
			n := min(len(s.out), c.cfg.MaxOpsPerFrame)
			s.sendSeq++
			out = append(out, Send{Peer: s.peer, Frame: &wire.Frame{Type: wire.FrameBatch, Epoch: s.epoch,
				Seq: s.sendSeq, SentNs: c.cfg.Clock(), Ops: s.out[:n:n]}})
			s.out = s.out[n:]
		}
		s.out = nil
	}
	if c.up != nil {
		emit(c.up)
	}
	for _, d := range c.downOrder {
		emit(c.down[d])
	}
	return out
}

// ViewLen is the number of records the hop believes peer holds (for leak checks).
func (c *Core) ViewLen(peer string) int {
	if s := c.session(peer); s != nil {
		return len(s.view)
	}
	return 0
}

// CheckViews reports view entries for records the hop no longer holds (state
// a hop would leak); tests use it after convergence.
func (c *Core) CheckViews() error {
	var bad []string
	check := func(s *session) {
		for k := range s.view {
			if _, ok := c.store.Get(k); !ok {
				bad = append(bad, s.peer+":"+k.String())
			}
		}
	}
	if c.up != nil {
		check(c.up)
	}
	for _, d := range c.downOrder {
		check(c.down[d])
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("hop %s: views hold %d released records: %v", c.cfg.Name, len(bad), bad)
	}
	return nil
}

// fingerprint summarises the Core's protocol state (tests: a refused frame
// must leave it unchanged).
func (c *Core) fingerprint() string {
	out := fmt.Sprintf("rev=%d len=%d dirty=%d hlc=%d unsynced=%d", c.store.Rev(), c.store.Len(), len(c.dirty), c.hlc, c.unsynced)
	add := func(s *session) {
		out += fmt.Sprintf(" [%s st=%d ep=%d/%d seq=%d/%d inc=%d view=%d out=%d truth=%d]", s.peer, s.state, s.epoch,
			s.lastEpoch, s.sendSeq, s.recvSeq, s.incarnation, len(s.view), len(s.out), s.truthFrames)
	}
	if c.up != nil {
		add(c.up)
	}
	for _, d := range c.downOrder {
		add(c.down[d])
	}
	return out
}
