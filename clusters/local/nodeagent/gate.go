package nodeagent

import "sync"

// Gate bounds the pod requests in flight from the agent, creates and status
// writes together, as the floor's workers do (each creates a pod and then
// writes its status, at most C at a time): an API server on a few cores
// serves fewer requests per second the more it has in flight. A status
// write goes before any waiting create, so that pods whose create is done
// turn Ready before more pods are started, as a floor worker finishes its
// pod before taking the next. A nil Gate admits everything.
type Gate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	free    int
	writers int // status writes waiting
	waiting int // requests waiting, writes and creates (for tests)
}

// NewGate admits at most n requests at a time (n <= 0: nil, no bound).
func NewGate(n int) *Gate {
	if n <= 0 {
		return nil
	}
	g := &Gate{free: n}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Acquire waits for a slot; write says the request is a status write.
// Every Acquire is paired with a Release once the request returned.
func (g *Gate) Acquire(write bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if write {
		g.writers++
	}
	for g.free == 0 || (!write && g.writers > 0) {
		g.waiting++
		g.cond.Wait()
		g.waiting--
	}
	g.free--
	if write {
		g.writers--
		if g.writers == 0 && g.free > 0 {
			g.cond.Broadcast() // creates held back for writes may go
		}
	}
}

// Release frees the slot of a request that returned.
func (g *Gate) Release() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.free++
	g.mu.Unlock()
	g.cond.Broadcast()
}
