package wire

import (
	"encoding/hex"
	"errors"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleFrames() map[string]*Frame {
	pod := Record{Kind: KindPod, Phase: PhaseBound, Namespace: "default", Name: "fn-7d9-abcde",
		UID: "0f4c", Owner: "fn-7d9", Node: "node-3", Template: "7d9", CreatedNs: 1700000000123456789}
	return map[string]*Frame{
		"hello": {Type: FrameHello, Epoch: 7, SentNs: 42, Incarnation: 99, From: "rs", To: "sched"},
		"reply": {Type: FrameHelloReply, Epoch: 8, SentNs: 43, Incarnation: 5, From: "sched", To: "rs",
			Ops: []Op{{Type: OpUpsert, Record: pod}}},
		"batch": {Type: FrameBatch, Epoch: 8, Seq: 3, SentNs: -1, Ops: []Op{
			{Type: OpUpsert, Record: Record{Kind: KindReplicaSet, Namespace: "default", Name: "fn-7d9", Owner: "fn", Replicas: 1000, Generation: 1 << 40}},
			{Type: OpRelease, Record: Record{Kind: KindPod, Phase: PhaseTerminated, Namespace: "default", Name: "fn-7d9-x"}},
		}},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for name, f := range sampleFrames() {
		t.Run(name, func(t *testing.T) {
			b := AppendFrame(nil, f)
			var g Frame
			if err := DecodeFrame(b, &g); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(f, &g) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", g, *f)
			}
		})
	}
}

// TestFrameGolden pins the byte format: a change here breaks mixed-version links.
func TestFrameGolden(t *testing.T) {
	var out strings.Builder
	for _, name := range []string{"hello", "reply", "batch"} {
		out.WriteString(name + " " + hex.EncodeToString(AppendFrame(nil, sampleFrames()[name])) + "\n")
	}
	path := filepath.Join("testdata", "frames.golden")
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if out.String() != string(want) {
		t.Fatalf("encoding changed:\n got %s\nwant %s", out.String(), want)
	}
}

func TestDecodeEveryPrefixFails(t *testing.T) {
	for name, f := range sampleFrames() {
		b := AppendFrame(nil, f)
		for i := 0; i < len(b); i++ {
			var g Frame
			if err := DecodeFrame(b[:i], &g); err == nil {
				t.Fatalf("%s: prefix of %d/%d bytes decoded without error", name, i, len(b))
			}
			if !reflect.DeepEqual(g, Frame{}) {
				t.Fatalf("%s: failed decode left state %+v", name, g)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := AppendFrame(nil, sampleFrames()["batch"])
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "version"},
		{"bad version", mut(func(b []byte) []byte { b[0] = 9; return b }), "unsupported version 9"},
		{"bad type", mut(func(b []byte) []byte { b[1] = 77; return b }), "unknown type 77"},
		{"trailing", append(append([]byte(nil), good...), 0), "trailing"},
		{"huge op count", []byte{version, byte(FrameBatch), 1, 1, 0, 0, 0, 0, 0x80, 0x80, 0x08}, "exceeds limit"},
		{"lying op count", []byte{version, byte(FrameBatch), 1, 1, 0, 0, 0, 0, 100}, "truncated"},
		{"long string", append([]byte{version, byte(FrameHello), 1, 0, 0, 0, 0xff, 0xff, 0x3}, make([]byte, 10)...), "exceeds limit"},
		{"epoch zero", AppendFrame(nil, &Frame{Type: FrameBatch}), "epoch 0"},
		{"hello without names", AppendFrame(nil, &Frame{Type: FrameHello, Epoch: 1}), "empty from/to"},
		{"bad kind", AppendFrame(nil, &Frame{Type: FrameBatch, Epoch: 1, Ops: []Op{{Type: OpUpsert, Record: Record{Kind: 9, Name: "x"}}}}), "op 0: record /x: unknown kind 9"},
		{"bad op", AppendFrame(nil, &Frame{Type: FrameBatch, Epoch: 1, Ops: []Op{{Type: 5, Record: Record{Kind: KindPod, Phase: PhasePending, Name: "x"}}}}), "unknown op type 5"},
		{"release in reply", AppendFrame(nil, &Frame{Type: FrameHelloReply, Epoch: 1, Ops: []Op{{Type: OpRelease, Record: Record{Kind: KindPod, Phase: PhasePending, Name: "x"}}}}), "Release not allowed"},
		{"pod without phase", AppendFrame(nil, &Frame{Type: FrameBatch, Epoch: 1, Ops: []Op{{Type: OpUpsert, Record: Record{Kind: KindPod, Name: "x"}}}}), "pod without phase"},
		{"negative replicas", AppendFrame(nil, &Frame{Type: FrameBatch, Epoch: 1, Ops: []Op{{Type: OpUpsert, Record: Record{Kind: KindReplicaSet, Name: "x", Replicas: -1}}}}), "negative replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f Frame
			err := DecodeFrame(tc.in, &f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	var f Frame
	if err := DecodeFrame(good[:5], &f); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated input: got %v, want ErrTruncated", err)
	}
}

func randRecord(r *rand.Rand) Record {
	pick := func(s ...string) string { return s[r.Intn(len(s))] }
	if r.Intn(4) == 0 {
		return Record{Kind: KindReplicaSet, Namespace: "ns", Name: "rs", Owner: pick("", "d1", "d2"),
			Replicas: int32(r.Intn(5)), Generation: uint64(r.Intn(4))}
	}
	return Record{Kind: KindPod, Namespace: "ns", Name: "p", Phase: Phase(1 + r.Intn(5)),
		Node: pick("", "", "n1", "n2"), UID: pick("", "u1"), Owner: pick("", "rs"),
		Template: pick("", "t1", "t2"), CreatedNs: int64(r.Intn(3))}
}

// TestMergeIsSemilattice checks the properties the protocol's safety rests on.
func TestMergeIsSemilattice(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	join := func(a, b Record) Record { a.Merge(&b); return a }
	for i := 0; i < 20000; i++ {
		a, b, c := randRecord(r), randRecord(r), randRecord(r)
		if a.Kind != b.Kind || b.Kind != c.Kind {
			continue
		}
		if got := join(a, a); got != a {
			t.Fatalf("not idempotent: %+v", a)
		}
		if x, y := join(a, b), join(b, a); x != y {
			t.Fatalf("not commutative:\n%+v\n%+v\n→ %+v vs %+v", a, b, x, y)
		}
		if x, y := join(join(a, b), c), join(a, join(b, c)); x != y {
			t.Fatalf("not associative: %+v %+v %+v", a, b, c)
		}
		ab := join(a, b)
		if ab.Kind == KindPod && ab.Phase < a.Phase {
			t.Fatalf("phase went backwards: %v → %v", a.Phase, ab.Phase)
		}
		if !ab.Dominates(&a) || !ab.Dominates(&b) {
			t.Fatalf("join does not dominate its inputs")
		}
	}
}

func TestTombstoneNeverResurrected(t *testing.T) {
	dead := Record{Kind: KindPod, Name: "p", Phase: PhaseTerminating, Node: "n1"}
	for p := PhasePending; p <= PhaseRunning; p++ {
		late := Record{Kind: KindPod, Name: "p", Phase: p, Node: "n1"}
		got := dead
		got.Merge(&late)
		if !got.Phase.Tombstoned() {
			t.Fatalf("late %s message resurrected a tombstone", p)
		}
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	f := sampleFrames()["batch"]
	buf := AppendFrame(nil, f)
	b.SetBytes(int64(len(buf)))
	var g Frame
	for i := 0; i < b.N; i++ {
		buf = AppendFrame(buf[:0], f)
		if err := DecodeFrame(buf, &g); err != nil {
			b.Fatal(err)
		}
	}
}
