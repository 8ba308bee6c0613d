package hop

import (
	"testing"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// FuzzCoreInput feeds arbitrary bytes to a mid-chain hop as a handshake, a
// handshake reply and a batch from each peer. Decoding or the Core may refuse
// them; a refusal must leave the hop's state exactly as it was.
func FuzzCoreInput(f *testing.F) {
	clk := &fakeClock{}
	seedUp := newCore(f, "up", "", []string{"mid"}, clk)
	seedMid := newCore(f, "mid", "up", []string{"tail"}, clk)
	hello, _ := seedUp.Connect("mid")
	f.Add(wire.AppendFrame(nil, hello))
	replies, _ := seedMid.OnHello(hello, 0)
	f.Add(wire.AppendFrame(nil, replies[0].Frame))
	f.Add(wire.AppendFrame(nil, &wire.Frame{Type: wire.FrameBatch, Epoch: 1, Seq: 1,
		Ops: []wire.Op{{Type: wire.OpUpsert, Record: pod("p", wire.PhaseBound)}}}))
	f.Add(wire.AppendFrame(nil, &wire.Frame{Type: wire.FrameHelloReply, Epoch: 5, From: "tail", To: "mid",
		Ops: []wire.Op{{Type: wire.OpUpsert, Record: pod("q", wire.PhaseRunning)}}}))
	f.Add([]byte{1, 3, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr wire.Frame
		if err := wire.DecodeFrame(data, &fr); err != nil {
			return
		}
		clk := &fakeClock{}
		up := newCore(t, "up", "", []string{"mid"}, clk)
		mid := newCore(t, "mid", "up", []string{"tail"}, clk)
		handshake(t, up, mid)
		mid.Write(pod("a", wire.PhasePending))
		mid.Connect("tail") // leave mid handshaking with its downstream
		try := func(name string, fn func() ([]Send, error)) {
			before := mid.fingerprint()
			if _, err := fn(); err != nil && mid.fingerprint() != before {
				t.Fatalf("%s refused (%v) but changed state:\n%s\n%s", name, err, before, mid.fingerprint())
			}
		}
		g := fr
		try("hello", func() ([]Send, error) { return mid.OnHello(&g, 0) })
		g = fr
		try("reply", func() ([]Send, error) { return mid.OnHelloReply("tail", &g, 0) })
		for _, peer := range []string{"up", "tail", "stranger"} {
			g = fr
			try("batch from "+peer, func() ([]Send, error) { return mid.OnFrame(peer, &g, 0) })
		}
	})
}
