package cache

import (
	"context"
	"errors"
	"testing"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

func pod(name, owner string, ph wire.Phase) *wire.Record {
	return &wire.Record{Kind: wire.KindPod, Namespace: "ns", Name: name, Owner: owner, Phase: ph}
}

func TestMergeAndIndex(t *testing.T) {
	s := New(16)
	steps := []struct {
		in      *wire.Record
		changed bool
		phase   wire.Phase
	}{
		{pod("a", "rs1", wire.PhasePending), true, wire.PhasePending},
		{pod("a", "rs1", wire.PhasePending), false, wire.PhasePending},
		{pod("a", "", wire.PhaseRunning), true, wire.PhaseRunning},
		{pod("a", "rs1", wire.PhaseBound), false, wire.PhaseRunning},
		{pod("a", "rs1", wire.PhaseTerminating), true, wire.PhaseTerminating},
		{pod("a", "rs1", wire.PhaseRunning), false, wire.PhaseTerminating},
	}
	for i, st := range steps {
		got, changed := s.Merge(st.in)
		if changed != st.changed || got.Phase != st.phase {
			t.Fatalf("step %d: got (%s, %v), want (%s, %v)", i, got.Phase, changed, st.phase, st.changed)
		}
	}
	if n := len(s.Owned(wire.KindPod, "ns", "rs1")); n != 1 {
		t.Fatalf("owner index has %d pods, want 1", n)
	}
	if _, ok := s.Delete(wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: "a"}); !ok {
		t.Fatal("delete missed")
	}
	if n := len(s.Owned(wire.KindPod, "ns", "rs1")); n != 0 || len(s.owned) != 0 {
		t.Fatalf("owner index leaks after delete: %v", s.owned)
	}
	if s.Rev() != 4 {
		t.Fatalf("rev %d, want 4 (3 changes + delete)", s.Rev())
	}
}

func TestWatchReplaysAndFollows(t *testing.T) {
	s := New(4)
	s.Merge(pod("a", "o", wire.PhasePending))
	_, rev := s.List(wire.KindPod)
	s.Merge(&wire.Record{Kind: wire.KindReplicaSet, Namespace: "ns", Name: "o", Replicas: 1, Generation: 1})
	s.Merge(pod("b", "o", wire.PhasePending))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, wire.KindPod, rev)
	if err != nil {
		t.Fatal(err)
	}
	s.Delete(wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: "a"})
	want := []struct {
		t    EventType
		name string
	}{{Added, "b"}, {Deleted, "a"}}
	for _, w := range want {
		ev := <-ch
		if ev.Type != w.t || ev.Record.Name != w.name {
			t.Fatalf("got %s %s, want %s %s", ev.Type, ev.Record.Name, w.t, w.name)
		}
	}
	cancel()
	for range ch {
	}
}

func TestWatchTooOld(t *testing.T) {
	s := New(2)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		s.Merge(pod(n, "o", wire.PhasePending))
	}
	if _, err := s.Watch(context.Background(), 0, 0); !errors.Is(err, ErrTooOld) {
		t.Fatalf("got %v, want ErrTooOld", err)
	}
	if _, err := s.Watch(context.Background(), 0, 99); err == nil {
		t.Fatal("future revision accepted")
	}
}
