package hop

import (
	"errors"
	"testing"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// A three-hop fixture: "up" → "mid" → "tail", carrying pods.
func podRouter(down string) Router {
	return RouterFuncs{
		UpstreamFunc: func(r *wire.Record) bool { return r.Kind == wire.KindPod },
		DownstreamFunc: func(r *wire.Record) string {
			if r.Kind == wire.KindPod {
				return down
			}
			return ""
		},
	}
}

type fakeClock struct{ t int64 }

func (f *fakeClock) now() int64 { f.t++; return f.t }

func newCore(t testing.TB, name, up string, downs []string, clk *fakeClock) *Core {
	t.Helper()
	down := ""
	if len(downs) > 0 {
		down = downs[0]
	}
	c, err := NewCore(Config{Name: name, Upstream: up, Downstreams: downs, Router: podRouter(down),
		Incarnation: 1, Clock: clk.now, MaxOpsPerFrame: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake connects client to server and returns the frames the server sent
// after its reply (continuation of truth) and the client's resync frames.
func handshake(t testing.TB, client, server *Core) []Send {
	t.Helper()
	hello, err := client.Connect(server.Name())
	if err != nil {
		t.Fatal(err)
	}
	sends, err := server.OnHello(hello, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []Send
	for i, s := range sends {
		var more []Send
		if i == 0 {
			more, err = client.OnHelloReply(server.Name(), s.Frame, 0)
		} else {
			more, err = client.OnFrame(server.Name(), s.Frame, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, more...)
	}
	return out
}

func pod(name string, ph wire.Phase) wire.Record {
	return wire.Record{Kind: wire.KindPod, Namespace: "ns", Name: name, Phase: ph, Owner: "rs"}
}

func deliver(t testing.TB, to *Core, from string, sends []Send) []Send {
	t.Helper()
	var out []Send
	for _, s := range sends {
		more, err := to.OnFrame(from, s.Frame, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, more...)
	}
	return out
}

func TestHandshakeResyncAndEpochs(t *testing.T) {
	clk := &fakeClock{}
	up := newCore(t, "up", "", []string{"tail"}, clk)
	tail := newCore(t, "tail", "up", nil, clk)
	// The tail already holds pods (e.g. it survived the upstream's crash).
	tail.Write(pod("a", wire.PhaseRunning), pod("b", wire.PhaseRunning), pod("c", wire.PhaseRunning))
	// The upstream wrote a pod before the link came up.
	if sends, _ := up.Write(pod("d", wire.PhasePending)); len(sends) != 0 {
		t.Fatalf("sent %d frames on a link that is not up", len(sends))
	}
	if up.Synced() {
		t.Fatal("synced before any handshake")
	}
	resync := handshake(t, up, tail)
	if !up.Synced() || !up.Established("tail") {
		t.Fatal("not synced after the handshake")
	}
	// The truth (3 pods at 2 per frame) arrived whole; only "d" is re-forwarded.
	if len(resync) != 1 || len(resync[0].Frame.Ops) != 1 || resync[0].Frame.Ops[0].Record.Name != "d" {
		t.Fatalf("resync = %+v, want just pod d", resync)
	}
	if up.Store().Len() != 4 {
		t.Fatalf("upstream holds %d records, want 4", up.Store().Len())
	}
	old := resync[0].Frame
	deliver(t, tail, "up", resync)
	// A new handshake supersedes the epoch; frames of the old one are refused.
	handshake(t, up, tail)
	before := tail.fingerprint()
	stale := *old
	if _, err := tail.OnFrame("up", &stale, 0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("old-epoch frame: got %v, want ErrStaleEpoch", err)
	}
	if tail.fingerprint() != before {
		t.Fatalf("refused frame changed state:\n%s\n%s", before, tail.fingerprint())
	}
}

func TestSequenceGapIsRefused(t *testing.T) {
	clk := &fakeClock{}
	up := newCore(t, "up", "", []string{"tail"}, clk)
	tail := newCore(t, "tail", "up", nil, clk)
	handshake(t, up, tail)
	s1, _ := up.Write(pod("a", wire.PhasePending))
	s2, _ := up.Write(pod("b", wire.PhasePending))
	before := tail.fingerprint()
	if _, err := tail.OnFrame("up", s2[0].Frame, 0); !errors.Is(err, ErrProtocol) {
		t.Fatalf("gap: got %v, want ErrProtocol", err)
	}
	if tail.fingerprint() != before {
		t.Fatal("refused frame changed state")
	}
	deliver(t, tail, "up", append(s1, s2...))
	if tail.Store().Len() != 2 {
		t.Fatalf("tail holds %d", tail.Store().Len())
	}
}

// TestTombstoneLifecycle: a tombstone travels to the tail, the confirmation
// back to the segment head, which releases it everywhere; replaying the
// original creation afterwards does not bring the pod back at the head.
func TestTombstoneLifecycle(t *testing.T) {
	clk := &fakeClock{}
	head := newCore(t, "head", "", []string{"mid"}, clk)
	mid := newCore(t, "mid", "head", []string{"tail"}, clk)
	tail := newCore(t, "tail", "mid", nil, clk)
	handshake(t, head, mid)
	handshake(t, mid, tail)
	create, _ := head.Write(pod("p", wire.PhaseRunning))
	toTail := deliver(t, mid, "head", create)
	deliver(t, tail, "mid", toTail)
	kill, _ := head.Write(pod("p", wire.PhaseTerminating))
	toTail = deliver(t, mid, "head", kill)
	deliver(t, tail, "mid", toTail)
	// The tail executes it and confirms.
	confirm, _ := tail.Write(pod("p", wire.PhaseTerminated))
	toHead := deliver(t, mid, "tail", confirm)
	release := deliver(t, head, "mid", toHead)
	if head.Store().Len() != 0 {
		t.Fatal("head did not release the confirmed tombstone")
	}
	if len(release) != 1 || release[0].Frame.Ops[0].Type != wire.OpRelease {
		t.Fatalf("head sent %+v, want one release", release)
	}
	toTail = deliver(t, mid, "head", release)
	deliver(t, tail, "mid", toTail)
	for _, c := range []*Core{head, mid, tail} {
		if c.Store().Len() != 0 {
			t.Fatalf("%s still holds %d records", c.Name(), c.Store().Len())
		}
		if err := c.CheckViews(); err != nil {
			t.Fatal(err)
		}
	}
	if rel := tail.TakeReleased(); len(rel) != 1 {
		t.Fatalf("tail released %d records, want 1", len(rel))
	}
}

func TestRefusesForeignRecords(t *testing.T) {
	clk := &fakeClock{}
	up := newCore(t, "up", "", []string{"tail"}, clk)
	tail := newCore(t, "tail", "up", nil, clk)
	handshake(t, up, tail)
	cases := []struct {
		name string
		to   *Core
		from string
		op   wire.Op
	}{
		{"release from downstream", up, "tail", wire.Op{Type: wire.OpRelease, Record: pod("x", wire.PhaseTerminated)}},
		{"scale record on a pod link", tail, "up", wire.Op{Type: wire.OpUpsert, Record: wire.Record{Kind: wire.KindReplicaSet, Name: "rs"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.to.fingerprint()
			f := &wire.Frame{Type: wire.FrameBatch, Epoch: tc.to.Epoch(tc.from), Seq: 1, Ops: []wire.Op{tc.op}}
			if _, err := tc.to.OnFrame(tc.from, f, 0); !errors.Is(err, ErrProtocol) {
				t.Fatalf("got %v, want ErrProtocol", err)
			}
			if tc.to.fingerprint() != before {
				t.Fatal("refused frame changed state")
			}
		})
	}
}
