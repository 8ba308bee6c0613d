package hop

import (
	"testing"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Downstream peers that come and go (node agents below the scheduler): a
// configured peer holds back Synced until it resyncs or is removed; one
// added at run time never does; an instance name (<hop>@<instance>) answers
// to its hop name on the wire.
func TestDynamicDownstreams(t *testing.T) {
	clk := &fakeClock{}
	route := map[string]string{"a": "nodeagent@a", "b": "nodeagent@b", "c": "nodeagent@c"}
	c, err := NewCore(Config{Name: "scheduler", Downstreams: []string{"nodeagent@a", "nodeagent@b"}, Clock: clk.now,
		Router: RouterFuncs{DownstreamFunc: func(r *wire.Record) string { return route[r.Node] }}})
	if err != nil {
		t.Fatal(err)
	}
	agent := func(name string) *Core {
		a, err := NewCore(Config{Name: "nodeagent", Upstream: "scheduler", Clock: clk.now,
			Router: RouterFuncs{UpstreamFunc: func(r *wire.Record) bool { return r.Node != "" }}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	connect := func(peer string, a *Core) []Send {
		hello, err := c.Connect(peer)
		if err != nil {
			t.Fatal(err)
		}
		if hello.To != "nodeagent" {
			t.Fatalf("hello to %q, want the hop name nodeagent", hello.To)
		}
		sends, err := a.OnHello(hello, 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.OnHelloReply(peer, sends[0].Frame, 0)
		if err != nil {
			t.Fatalf("reply from %s: %v", peer, err)
		}
		return out
	}

	a := agent("a")
	connect("nodeagent@a", a)
	if c.Synced() {
		t.Fatal("synced with b, a configured peer, never connected")
	}
	c.RemoveDownstream("nodeagent@b")
	if !c.Synced() {
		t.Fatal("still waiting for b after it was removed")
	}
	if err := c.AddDownstream("nodeagent@c"); err != nil {
		t.Fatal(err)
	}
	if !c.Synced() {
		t.Fatal("a peer added at run time held back Synced")
	}
	if err := c.AddDownstream("nodeagent@c"); err == nil {
		t.Fatal("added nodeagent@c twice")
	}

	// A pod written before c's link is up reaches c once it resyncs; a pod
	// for a node of no known agent goes nowhere.
	pod := func(name, node string) wire.Record {
		return wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound, Namespace: "ns", Name: name, UID: name, Owner: "rs", Node: node}
	}
	sends, err := c.Write(pod("p-a", "a"), pod("p-c", "c"), pod("p-x", "x"))
	if err != nil {
		t.Fatal(err)
	}
	peers := map[string]int{}
	for _, s := range sends {
		peers[s.Peer] += len(s.Frame.Ops)
	}
	if len(peers) != 1 || peers["nodeagent@a"] != 1 {
		t.Fatalf("frames went to %v, want one pod to nodeagent@a (c is not linked yet)", peers)
	}
	resync := connect("nodeagent@c", agent("c"))
	if len(resync) != 1 || resync[0].Peer != "nodeagent@c" || len(resync[0].Frame.Ops) != 1 || resync[0].Frame.Ops[0].Record.Name != "p-c" {
		t.Fatalf("resync of c sent %+v, want p-c alone", resync)
	}
	c.RemoveDownstream("nodeagent@c")
	if _, err := c.Connect("nodeagent@c"); err == nil {
		t.Fatal("connected to a removed peer")
	}
	if err := c.CheckViews(); err != nil {
		t.Fatal(err)
	}
}

// Writes made while the Core is held leave as one frame per peer on
// Release, in order, with one sequence number.
func TestHoldCoalescesFrames(t *testing.T) {
	clk := &fakeClock{}
	up := newCore(t, "up", "", []string{"down"}, clk)
	down := newCore(t, "down", "up", nil, clk)
	handshake(t, up, down)
	pod := func(name string) wire.Record {
		return wire.Record{Kind: wire.KindPod, Phase: wire.PhasePending, Namespace: "ns", Name: name, UID: name, Owner: "rs"}
	}
	up.Hold()
	for _, n := range []string{"a", "b"} {
		sends, err := up.Write(pod(n))
		if err != nil || len(sends) != 0 {
			t.Fatalf("write %s while held: %d frames, %v; want none yet", n, len(sends), err)
		}
	}
	sends := up.Release()
	if len(sends) != 1 || sends[0].Peer != "down" || len(sends[0].Frame.Ops) != 2 ||
		sends[0].Frame.Ops[0].Record.Name != "a" || sends[0].Frame.Ops[1].Record.Name != "b" {
		t.Fatalf("released %+v, want one frame to down with a then b", sends)
	}
	if _, err := down.OnFrame("up", sends[0].Frame, 0); err != nil {
		t.Fatalf("the coalesced frame is refused: %v", err)
	}
	if sends, _ := up.Write(pod("c")); len(sends) != 1 {
		t.Fatalf("after Release a write frames at once: got %d frames", len(sends))
	}
}
