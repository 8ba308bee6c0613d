package dirigent

import (
	"testing"
	"time"
)

func refs(ids ...string) []SandboxRef {
	out := make([]SandboxRef, len(ids))
	for i, id := range ids {
		out[i] = SandboxRef{ID: id}
	}
	return out
}

func TestQueue(t *testing.T) {
	t0 := time.Unix(0, 0)
	q := newQueue(t0)

	// Waiters are served oldest first as sandboxes appear.
	w1, w2 := make(chan *dpSandbox, 1), make(chan *dpSandbox, 1)
	q.waiters.PushBack(w1)
	q.waiters.PushBack(w2)
	q.update(refs("a"))
	if got := (<-w1).ref.ID; got != "a" || len(w2) != 0 {
		t.Fatalf("first waiter got %s, second has %d; want a, 0", got, len(w2))
	}
	q.update(refs("a", "b"))
	if got := (<-w2).ref.ID; got != "b" {
		t.Fatalf("second waiter got %s, want b", got)
	}
	if q.inflight != 2 || q.take() != nil {
		t.Fatalf("in flight %d and a free sandbox; want 2 busy, none free", q.inflight)
	}

	// A sandbox removed while busy is not handed out again on release.
	q.update(refs("b"))
	a := &dpSandbox{ref: SandboxRef{ID: "a"}, removed: true}
	q.give(a)
	if sb := q.take(); sb != nil {
		t.Fatalf("took removed sandbox %s", sb.ref.ID)
	}

	// Free sandboxes dropped by an update disappear from the free list.
	q.inflight = 0
	q.update(refs("b", "c"))
	q.update(refs("b"))
	if sb := q.take(); sb != nil {
		t.Fatalf("took %s, want nothing: b is busy and c was removed", sb.ref.ID)
	}

	// Concurrency is integrated over time: 2 for 1 s, then 0 for 1 s.
	q = newQueue(t0)
	q.update(refs("x", "y"))
	q.take()
	q.take()
	q.account(t0.Add(time.Second))
	q.inflight = 0
	if got := q.sample(t0.Add(2*time.Second), t0); got != 1 {
		t.Errorf("mean concurrency %v over 2 s, want 1", got)
	}
	if got := q.sample(t0.Add(3*time.Second), t0.Add(2*time.Second)); got != 0 {
		t.Errorf("mean concurrency %v of an idle second, want 0", got)
	}
}
