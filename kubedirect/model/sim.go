// Package model checks the Kubedirect protocol under faults. Run executes one
// seeded schedule: a discrete-event simulation of a chain of hop.Cores
// (autoscaler → deployment → replicaset → scheduler → nodes) connected by
// simulated streams, with random message delays, stream breaks (and the loss
// of a random suffix of in-flight frames), crashes and restarts of any hop,
// and interleaved scale-ups, scale-downs and preemptions. After the faults stop
// the system must converge, and the invariants are checked. Everything is
// derived from the seed, so a failing seed replays exactly.
package model

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sort"

	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Options shape a schedule.
type Options struct {
	Nodes       int   // node hops under the scheduler
	Deployments int   // independent workloads
	MaxReplicas int   // per deployment
	FaultNs     int64 // simulated duration of the fault phase
	Faults      int   // number of fault/driver events in that phase
	MaxEvents   int   // convergence budget (events) after the fault phase
	Trace       io.Writer
}

// DefaultOptions is the base of what the model test runs per seed.
var DefaultOptions = Options{Nodes: 2, Deployments: 2, MaxReplicas: 8, FaultNs: 200e6, Faults: 40, MaxEvents: 200000}

// OptionsFor varies the topology and fault density with the seed, so that a
// sweep covers one to three nodes and light to heavy fault loads.
func OptionsFor(seed int64) Options {
	o := DefaultOptions
	o.Nodes = 1 + int(seed%3)
	o.Faults = 20 + int(seed%7)*10
	o.MaxReplicas = 4 + int(seed%5)*2
	return o
}

// Result summarises one schedule.
type Result struct {
	Events, Frames, Crashes, Breaks, Preemptions, Scales, StaleFrames int
	Desired                                                           map[string]int32
}

type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	return q[i].at < q[j].at || (q[i].at == q[j].at && q[i].seq < q[j].seq)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type conn struct {
	id             int
	client, server string
	cInc, sInc     int
	alive          bool
	helloDone      bool     // server side saw the Hello
	epoch          uint64   // client's proposal, then the established epoch
	last           [2]int64 // last scheduled delivery per direction (FIFO)
	sent, cutoff   [2]int   // frames sent per direction; deliver only index < cutoff once broken
}

type simHop struct {
	name   string
	inc    int
	alive  bool
	core   *hop.Core
	logic  hop.Logic
	box    *refhops.Sandboxes
	up     *conn            // current stream from the upstream peer (server side)
	down   map[string]*conn // current stream to each downstream peer (client side)
	redial map[string]bool  // a reconnect is scheduled
}

type tombstone struct {
	holders map[string]bool
	stopped bool // executed by the tail
}

type sim struct {
	opt     Options
	rng     *rand.Rand
	now     int64
	seq     uint64
	q       eventQueue
	topo    refhops.Topology
	hops    map[string]*simHop
	names   []string
	nconn   int
	conns   []*conn
	desired map[string]int32
	res     Result
	starts  map[string]int
	tombs   map[string]*tombstone
	errs    []error
	faulty  bool // fault phase running
}

// Run executes the schedule of seed.
func Run(seed int64, opt Options) (Result, error) {
	s := &sim{opt: opt, rng: rand.New(rand.NewSource(seed)), hops: map[string]*simHop{},
		desired: map[string]int32{}, starts: map[string]int{}, tombs: map[string]*tombstone{}}
	for i := 0; i < opt.Nodes; i++ {
		s.topo.Nodes = append(s.topo.Nodes, fmt.Sprintf("node-%d", i))
	}
	s.names = s.topo.Names()
	for _, n := range s.names {
		h := &simHop{name: n}
		if s.topo.Role(n) == refhops.RoleNode {
			h.box = refhops.NewSandboxes()
			node := n
			h.box.OnStart = func(_ string, r wire.Record) { s.onStart(node, r) }
			h.box.OnStop = func(_ string, r wire.Record) { s.onStop(node, r) }
		}
		s.hops[n] = h
		s.start(h)
	}
	// Driver and faults.
	s.faulty = true
	for i := 0; i < opt.Faults; i++ {
		at := s.rng.Int63n(opt.FaultNs)
		s.at(at, s.randomFault)
	}
	s.at(opt.FaultNs, func() {
		s.faulty = false
		// Final intent, then heal: every hop up, every link redialled.
		for d := 0; d < opt.Deployments; d++ {
			s.scale(d, int32(s.rng.Intn(opt.MaxReplicas+1)))
		}
		for _, n := range s.names {
			if h := s.hops[n]; !h.alive {
				s.start(h)
			}
		}
	})
	budget := opt.MaxEvents
	for len(s.q) > 0 {
		if len(s.errs) > 0 {
			break
		}
		if s.now > opt.FaultNs {
			if budget--; budget < 0 {
				s.fail("did not converge within %d events after the fault phase", opt.MaxEvents)
				break
			}
		}
		e := heap.Pop(&s.q).(*event)
		s.now = e.at
		s.res.Events++
		e.fn()
	}
	if len(s.errs) == 0 {
		s.check()
	}
	s.res.Desired = s.desired
	if len(s.errs) > 0 {
		s.dump()
	}
	return s.res, errors.Join(s.errs...)
}

func (s *sim) tracef(format string, a ...any) {
	if s.opt.Trace != nil {
		fmt.Fprintf(s.opt.Trace, "%9.3fms "+format+"\n", append([]any{float64(s.now) / 1e6}, a...)...)
	}
}

func (s *sim) fail(format string, a ...any) {
	s.errs = append(s.errs, fmt.Errorf("t=%.3fms: "+format, append([]any{float64(s.now) / 1e6}, a...)...))
}

func (s *sim) at(t int64, fn func()) {
	s.seq++
	heap.Push(&s.q, &event{at: t, seq: s.seq, fn: fn})
}

func (s *sim) after(d int64, fn func()) { s.at(s.now+d, fn) }

func (s *sim) clock() int64 { return s.now + 1 } // never 0

// delay is a message's network delay: mostly small, sometimes a spike.
func (s *sim) delay() int64 {
	if s.rng.Intn(20) == 0 {
		return 1e6 + s.rng.Int63n(20e6)
	}
	return 10e3 + s.rng.Int63n(500e3)
}

// start (re)starts hop h empty (nodes keep their sandboxes) and dials downstream.
func (s *sim) start(h *simHop) {
	h.inc++
	h.alive = true
	h.down = map[string]*conn{}
	h.redial = map[string]bool{}
	h.up = nil
	cfg := s.topo.Config(h.name)
	cfg.Clock = s.clock
	cfg.Incarnation = uint64(h.inc)
	cfg.MaxOpsPerFrame = 4 // small frames exercise splitting and sequencing
	if h.box != nil {
		cfg.Initial = h.box.Records()
	}
	core, err := hop.NewCore(cfg)
	if err != nil {
		s.fail("start %s: %v", h.name, err)
		return
	}
	h.core = core
	h.logic = s.topo.Logic(h.name, h.box, fmt.Sprintf("i%d.", h.inc), s.clock)
	s.tracef("%s starts (incarnation %d)", h.name, h.inc)
	if s.topo.Role(h.name) == refhops.RoleAutoscaler {
		// The autoscaler recomputes its intent after a restart.
		for d := 0; d < s.opt.Deployments; d++ {
			if n, ok := s.desired[depName(d)]; ok {
				s.write(h, wire.Record{Kind: wire.KindDeployment, Namespace: "default", Name: depName(d), Replicas: n, Template: "t1"})
			}
		}
	}
	for _, d := range cfg.Downstreams {
		s.scheduleDial(h, d, 0)
	}
	s.step(h)
}

func depName(d int) string { return fmt.Sprintf("fn%d", d) }

func (s *sim) scheduleDial(h *simHop, peer string, d int64) {
	if h.redial[peer] {
		return
	}
	h.redial[peer] = true
	inc := h.inc
	s.after(d, func() {
		if !h.alive || h.inc != inc {
			return
		}
		h.redial[peer] = false
		s.dial(h, peer)
	})
}

func (s *sim) dial(h *simHop, peer string) {
	p := s.hops[peer]
	if !p.alive {
		s.scheduleDial(h, peer, 1e6+s.rng.Int63n(5e6)) // backoff
		return
	}
	hello, err := h.core.Connect(peer)
	if err != nil {
		s.fail("%s connect %s: %v", h.name, peer, err)
		return
	}
	s.nconn++
	c := &conn{id: s.nconn, client: h.name, server: peer, cInc: h.inc, sInc: p.inc, alive: true, epoch: hello.Epoch}
	s.conns = append(s.conns, c)
	if old := h.down[peer]; old != nil {
		s.kill(old, "superseded")
	}
	h.down[peer] = c
	s.tracef("%s dials %s (conn %d, epoch %d)", h.name, peer, c.id, c.epoch)
	s.send(c, 0, hello)
}

// send queues f on c in direction dir (0: client→server, 1: server→client).
func (s *sim) send(c *conn, dir int, f *wire.Frame) {
	b := wire.AppendFrame(nil, f)
	idx := c.sent[dir]
	c.sent[dir]++
	at := max(s.now+s.delay(), c.last[dir])
	c.last[dir] = at
	s.res.Frames++
	s.at(at, func() { s.deliver(c, dir, idx, b) })
}

func (s *sim) deliver(c *conn, dir, idx int, b []byte) {
	if !c.alive && idx >= c.cutoff[dir] {
		return // lost with the stream
	}
	to, from := s.hops[c.server], c.client
	if dir == 1 {
		to, from = s.hops[c.client], c.server
	}
	if !to.alive || (dir == 0 && to.inc != c.sInc) || (dir == 1 && to.inc != c.cInc) {
		return // receiver process is gone
	}
	var f wire.Frame
	if err := wire.DecodeFrame(b, &f); err != nil {
		s.fail("decode on %s: %v", to.name, err)
		return
	}
	var sends []hop.Send
	var err error
	switch {
	case dir == 0 && !c.helloDone:
		c.helloDone = true
		if to.up != nil && to.up != c {
			s.kill(to.up, "superseded by a new handshake")
		}
		to.up = c
		sends, err = to.core.OnHello(&f, s.now)
		if err == nil {
			c.epoch = to.core.Epoch(from)
			s.tracef("%s accepts %s (conn %d, epoch %d, %d truth ops)", to.name, from, c.id, c.epoch, len(sends[0].Frame.Ops))
		}
	case dir == 1 && f.Type == wire.FrameHelloReply:
		if to.down[from] != c {
			return // reply on a stream the client has abandoned
		}
		sends, err = to.core.OnHelloReply(from, &f, s.now)
		if err == nil {
			c.epoch = f.Epoch
			s.tracef("%s resynced with %s (conn %d, epoch %d, %d truth ops)", to.name, from, c.id, f.Epoch, len(f.Ops))
		}
	default:
		sends, err = to.core.OnFrame(from, &f, s.now)
	}
	if errors.Is(err, hop.ErrStaleEpoch) {
		s.res.StaleFrames++
		s.tracef("%s rejects stale frame from %s (conn %d): %v", to.name, from, c.id, err)
		s.kill(c, "stale epoch")
		return
	}
	if err != nil {
		s.fail("%s: %v", to.name, err)
		return
	}
	if s.opt.Trace != nil {
		for _, op := range f.Ops {
			s.tracef("  %s <- %s: %s %s %s %s", to.name, from, op.Type, op.Record.Key(), op.Record.Phase, op.Record.Node)
		}
	}
	s.noteTombstones(to.name, f.Ops)
	s.ship(to, sends)
	s.step(to)
}

// ship puts a hop's frames on its current streams.
func (s *sim) ship(h *simHop, sends []hop.Send) {
	for _, snd := range sends {
		if h.up != nil && snd.Peer == h.up.client {
			if h.up.alive && h.up.epoch == snd.Frame.Epoch {
				s.send(h.up, 1, snd.Frame)
			}
			continue
		}
		if c := h.down[snd.Peer]; c != nil && c.alive && c.epoch == snd.Frame.Epoch {
			s.send(c, 0, snd.Frame)
		}
	}
}

// step runs the hop's logic after an event.
func (s *sim) step(h *simHop) {
	if !h.alive {
		return
	}
	sends, err := hop.Step(h.core, h.logic)
	if err != nil {
		s.fail("%s logic: %v", h.name, err)
		return
	}
	if s.opt.Trace != nil {
		for _, snd := range sends {
			for _, op := range snd.Frame.Ops {
				s.tracef("  %s -> %s (logic): %s %s %s %s", h.name, snd.Peer, op.Type, op.Record.Key(), op.Record.Phase, op.Record.Node)
			}
		}
	}
	s.noteLocal(h, sends)
	s.ship(h, sends)
}

func (s *sim) write(h *simHop, recs ...wire.Record) {
	sends, err := h.core.Write(recs...)
	if err != nil {
		s.fail("%s write: %v", h.name, err)
		return
	}
	for _, r := range recs {
		if r.Kind == wire.KindPod && r.Phase.Tombstoned() {
			s.hold(r.Name, h.name)
		}
	}
	s.ship(h, sends)
	s.step(h)
}

// kill breaks a stream: a random prefix of in-flight frames still arrives,
// and each side notices after its own delay.
func (s *sim) kill(c *conn, why string) {
	if !c.alive {
		return
	}
	c.alive = false
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			break
		}
	}
	for d := 0; d < 2; d++ {
		c.cutoff[d] = c.sent[d] - s.rng.Intn(c.sent[d]+1)
	}
	s.tracef("conn %d %s→%s breaks (%s)", c.id, c.client, c.server, why)
	cl, sv := s.hops[c.client], s.hops[c.server]
	s.after(s.delay(), func() {
		if cl.alive && cl.inc == c.cInc && cl.down[c.server] == c {
			cl.core.OnDisconnect(c.server, c.epoch)
			s.scheduleDial(cl, c.server, 100e3+s.rng.Int63n(2e6))
		}
	})
	s.after(s.delay(), func() {
		if sv.alive && sv.inc == c.sInc && sv.up == c {
			sv.core.OnDisconnect(c.client, c.epoch)
			sv.up = nil
		}
	})
}

func (s *sim) crash(h *simHop) {
	if !h.alive {
		return
	}
	h.alive = false
	s.res.Crashes++
	s.tracef("%s crashes", h.name)
	// Every stream of the process dies, including ones whose handshake has
	// not arrived yet.
	for _, c := range append([]*conn(nil), s.conns...) {
		if c.alive && (c.client == h.name || c.server == h.name) {
			s.kill(c, "crash")
		}
	}
	for _, t := range s.tombs {
		if h.box == nil { // a node's stopped sandboxes are durable
			delete(t.holders, h.name)
		}
	}
	s.after(100e3+s.rng.Int63n(20e6), func() {
		if !h.alive {
			s.start(h)
		}
	})
}

func (s *sim) scale(d int, n int32) {
	s.res.Scales++
	name := depName(d)
	s.desired[name] = n
	s.tracef("scale %s to %d", name, n)
	if h := s.hops[refhops.Autoscaler]; h.alive {
		s.write(h, wire.Record{Kind: wire.KindDeployment, Namespace: "default", Name: name, Replicas: n, Template: "t1"})
	}
}

func (s *sim) randomFault() {
	if !s.faulty {
		return
	}
	switch k := s.rng.Intn(10); {
	case k < 4:
		s.scale(s.rng.Intn(s.opt.Deployments), int32(s.rng.Intn(s.opt.MaxReplicas+1)))
	case k < 6: // break a random live stream
		var live []*conn
		for _, n := range s.names {
			h := s.hops[n]
			for _, p := range sortedKeys(h.down) {
				if c := h.down[p]; c.alive {
					live = append(live, c)
				}
			}
		}
		if len(live) > 0 {
			s.res.Breaks++
			s.kill(live[s.rng.Intn(len(live))], "injected break")
		}
	case k < 8:
		s.crash(s.hops[s.names[s.rng.Intn(len(s.names))]])
	default: // preempt a bound pod at the scheduler
		h := s.hops[refhops.Scheduler]
		if !h.alive || !h.core.Synced() {
			return
		}
		pods, _ := h.core.Store().List(wire.KindPod)
		var cand []wire.Record
		for _, p := range pods {
			if p.Node != "" && !p.Phase.Tombstoned() {
				cand = append(cand, p)
			}
		}
		if len(cand) > 0 {
			p := cand[s.rng.Intn(len(cand))]
			s.res.Preemptions++
			s.tracef("scheduler preempts %s on %s", p.Name, p.Node)
			s.write(h, refhops.Preempt(p))
		}
	}
}

// Tombstone bookkeeping: who holds termination intent for which pod.
func (s *sim) hold(pod, holder string) {
	t := s.tombs[pod]
	if t == nil {
		t = &tombstone{holders: map[string]bool{}}
		s.tombs[pod] = t
	}
	t.holders[holder] = true
}

func (s *sim) noteTombstones(h string, ops []wire.Op) {
	for _, op := range ops {
		if op.Type == wire.OpUpsert && op.Record.Kind == wire.KindPod && op.Record.Phase.Tombstoned() {
			s.hold(op.Record.Name, h)
		}
	}
}

func (s *sim) noteLocal(h *simHop, sends []hop.Send) {
	for _, snd := range sends {
		for _, op := range snd.Frame.Ops {
			if op.Record.Kind == wire.KindPod && op.Record.Phase.Tombstoned() {
				s.hold(op.Record.Name, h.name)
			}
		}
	}
	// Writes that could not be shipped (link down) are still held locally.
	pods, _ := h.core.Store().List(wire.KindPod)
	for _, p := range pods {
		if p.Phase.Tombstoned() {
			if t := s.tombs[p.Name]; t == nil || !t.holders[h.name] {
				s.hold(p.Name, h.name)
			}
		}
	}
}

func (s *sim) onStart(node string, r wire.Record) {
	s.tracef("%s starts sandbox %s", node, r.Name)
	s.starts[r.Name]++
	if s.starts[r.Name] > 1 {
		s.fail("pod %s started a second time (on %s)", r.Name, node)
	}
	if t := s.tombs[r.Name]; t != nil && t.stopped {
		s.fail("tombstoned pod %s came back on %s", r.Name, node)
	}
}

func (s *sim) onStop(node string, r wire.Record) {
	s.tracef("%s stops sandbox %s", node, r.Name)
	s.hold(r.Name, node)
	s.tombs[r.Name].stopped = true
}

// check verifies the invariants once the system is quiet.
func (s *sim) check() {
	running := map[string]wire.Record{}
	for _, n := range s.topo.Nodes {
		h := s.hops[n]
		for name, r := range h.box.Running {
			if _, dup := running[name]; dup {
				s.fail("pod %s runs on two nodes", name)
			}
			running[name] = r
		}
		if len(h.box.Stopped) > 0 {
			s.fail("%s leaks %d stopped sandboxes (tombstones never released): %v", n, len(h.box.Stopped), sortedKeys(h.box.Stopped))
		}
	}
	perOwner := map[string]int32{}
	for name, r := range running {
		perOwner[r.Owner]++
		if t := s.tombs[name]; t != nil && len(t.holders) > 0 {
			s.fail("pod %s runs although its tombstone survives at %v", name, sortedKeys(t.holders))
		}
	}
	for d := 0; d < s.opt.Deployments; d++ {
		name := depName(d)
		if perOwner[name] != s.desired[name] {
			s.fail("%s: %d pods running, last desired %d", name, perOwner[name], s.desired[name])
		}
	}
	for _, n := range s.names {
		h := s.hops[n]
		if !h.alive {
			s.fail("%s not running at the end", n)
			continue
		}
		if !h.core.Synced() {
			s.fail("%s never resynced downstream", n)
		}
		if err := h.core.CheckViews(); err != nil {
			s.fail("%s: %v", n, err)
		}
		recs, _ := h.core.Store().List(0)
		pods := 0
		for _, r := range recs {
			switch r.Kind {
			case wire.KindPod:
				pods++
				if _, ok := running[r.Name]; !ok || r.Phase != wire.PhaseRunning {
					s.fail("%s leaks pod record %s in phase %s", n, r.Name, r.Phase)
				}
			default:
				if r.Replicas != s.desired[r.Name] {
					s.fail("%s holds %s with %d replicas, want %d", n, r.Key(), r.Replicas, s.desired[r.Name])
				}
			}
		}
		want := 0
		switch s.topo.Role(n) {
		case refhops.RoleReplicaSet, refhops.RoleScheduler:
			want = len(running)
		case refhops.RoleNode:
			want = len(h.box.Running)
		}
		if pods != want {
			s.fail("%s holds %d pod records, want %d", n, pods, want)
		}
		for _, peer := range append(append([]string{}, h.core.Config().Downstreams...), h.core.Config().Upstream) {
			if peer != "" && !h.core.Established(peer) {
				s.fail("%s: link to %s not established after convergence", n, peer)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dump traces every hop's cache (for replays of failing seeds).
func (s *sim) dump() {
	for _, n := range s.names {
		h := s.hops[n]
		recs, _ := h.core.Store().List(0)
		s.tracef("state of %s (alive %v, synced %v): %d records", n, h.alive, h.core.Synced(), len(recs))
		for _, r := range recs {
			s.tracef("    %s phase=%s node=%s owner=%s replicas=%d gen=%d", r.Key(), r.Phase, r.Node, r.Owner, r.Replicas, r.Generation)
		}
	}
}
