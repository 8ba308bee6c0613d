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
