package nodeagent

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGateBoundsAndPrefersWrites: no more than n requests hold slots, and
// once a slot frees a waiting status write gets it before waiting creates.
func TestGateBoundsAndPrefersWrites(t *testing.T) {
	g := NewGate(2)
	g.Acquire(false)
	g.Acquire(false) // full
	var order []string
	var mu sync.Mutex
	var held, maxHeld atomic.Int32
	var wg sync.WaitGroup
	start := func(name string, write bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.Acquire(write)
			if h := held.Add(1); h > maxHeld.Load() {
				maxHeld.Store(h)
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			time.Sleep(60 * time.Millisecond) // holds its slot past the check below
			held.Add(-1)
			g.Release()
		}()
	}
	start("create", false)
	time.Sleep(20 * time.Millisecond) // the create waits first
	start("write", true)
	time.Sleep(20 * time.Millisecond)
	g.Release() // one slot: the write's, although the create waited longer
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	got := append([]string(nil), order...)
	mu.Unlock()
	if len(got) != 1 || got[0] != "write" {
		t.Fatalf("after one release: %v, want [write]", got)
	}
	g.Release()
	wg.Wait()
	if maxHeld.Load() > 2 {
		t.Errorf("%d requests held slots at once, gate of 2", maxHeld.Load())
	}
	if NewGate(0) != nil {
		t.Error("NewGate(0) bounds requests")
	}
	var none *Gate
	none.Acquire(true) // nil admits
	none.Release()
}
