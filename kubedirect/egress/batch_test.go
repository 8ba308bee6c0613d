package egress

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// recordingHop is a Hop that keeps every Write's records.
type recordingHop struct {
	store  *cache.Store
	mu     sync.Mutex
	writes [][]wire.Record
}

func (h *recordingHop) Store() *cache.Store { return h.store }
func (h *recordingHop) Write(_ context.Context, recs ...wire.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range recs {
		h.store.Merge(&recs[i])
	}
	h.writes = append(h.writes, recs)
	return nil
}
func (h *recordingHop) sizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, w := range h.writes {
		out = append(out, len(w))
	}
	return out
}

func managedPod(name string) *corev1.Pod {
	yes := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{ManagedLabel: "true"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: &yes}}}}
}

// TestBatchingOneWritePerSync: pods created in slow-start rounds (each
// round's calls concurrent, the next after them) go out as one write; a
// tombstone sends the pending pods first; a name pending or cached is
// AlreadyExists.
func TestBatchingOneWritePerSync(t *testing.T) {
	ctx := context.Background()
	h := &recordingHop{store: cache.New(1 << 10)}
	w := newBatching(h, 100*time.Millisecond, time.Second) // the production window is 2 ms; a loaded test machine may be slower
	if _, ok := NewBatching(h).(*batching); !ok {
		t.Fatal("NewBatching does not batch")
	}
	n := 0
	for round := 1; n < 100; round *= 2 { // slowStartBatch's 1, 2, 4, …
		var wg sync.WaitGroup
		for range min(round, 100-n) {
			i := n
			n++
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := w.CreatePod(ctx, managedPod(fmt.Sprintf("p-%03d", i))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if _, err := w.CreatePod(ctx, managedPod("p-000")); !apierrors.IsAlreadyExists(err) {
		t.Errorf("pending name created again: %v", err)
	}
	deadline := time.Now().Add(time.Second)
	for len(h.sizes()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := h.sizes(); len(got) != 1 || got[0] != 100 {
		t.Fatalf("writes of %v pods, want one of 100", got)
	}
	if _, err := w.CreatePod(ctx, managedPod("p-000")); !apierrors.IsAlreadyExists(err) {
		t.Errorf("cached name created again: %v", err)
	}

	if _, err := w.CreatePod(ctx, managedPod("q")); err != nil {
		t.Fatal(err)
	}
	if err := w.DeletePod(ctx, "ns", "q"); err != nil { // q must be sent before its tombstone
		t.Fatal(err)
	}
	got := h.sizes()
	if len(got) != 3 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("writes of %v pods, want 100, then q, then its tombstone", got)
	}
	if r, _ := h.store.Get(wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: "q"}); r.Phase != wire.PhaseTerminating {
		t.Errorf("q is %s, want Terminating", r.Phase)
	}
}
