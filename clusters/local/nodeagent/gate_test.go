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
	done := make(chan struct{}) // each holds its slot until done
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
			<-done
			held.Add(-1)
			g.Release()
		}()
	}
	// waitFor polls until cond holds: no sleep stands in for an ordering.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waiting := func(n int) func() bool {
		return func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.waiting == n }
	}
	acquired := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), order...) }
	start("create", false)
	waitFor("the create to wait", waiting(1)) // the create waits first
	start("write", true)
	waitFor("the write to wait", waiting(2))
	g.Release() // one slot: the write's, although the create waited longer
	waitFor("a request to take the slot", func() bool { return len(acquired()) > 0 })
	waitFor("the create to wait again", waiting(1))
	if got := acquired(); len(got) != 1 || got[0] != "write" {
		t.Fatalf("after one release: %v, want [write]", got)
	}
	close(done)
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
