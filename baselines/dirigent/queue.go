package dirigent

import (
	"container/list"
	"time"
)

// queue is one function's requests and Ready sandboxes in a data plane.
// Every sandbox serves one request at a time (containerConcurrency 1), so
// load balancing to the least-loaded sandbox means taking a free one. All
// fields are guarded by DataPlane.mu.
type queue struct {
	version   uint64
	sandboxes map[string]*dpSandbox
	free      []*dpSandbox
	waiters   list.List // of chan *dpSandbox, oldest first
	inflight  int
	// deleted marks a deregistered function's tombstone.
	deleted bool
	// coldSent says a cold start was reported since the function last had
	// no Ready sandbox.
	coldSent bool
	// area integrates in-flight + queued over time since last.
	area float64
	last time.Time
}

type dpSandbox struct {
	ref     SandboxRef
	busy    bool
	removed bool
}

func newQueue(now time.Time) *queue {
	return &queue{sandboxes: map[string]*dpSandbox{}, last: now}
}

// account integrates the concurrency up to now; call before any change.
func (q *queue) account(now time.Time) {
	q.area += float64(q.inflight+q.waiters.Len()) * now.Sub(q.last).Seconds()
	q.last = now
}

// sample returns the mean concurrency since the previous sample.
func (q *queue) sample(now time.Time, since time.Time) float64 {
	q.account(now)
	d := now.Sub(since).Seconds()
	v := 0.0
	if d > 0 {
		v = q.area / d
	}
	q.area = 0
	return v
}

// take returns a free sandbox, or nil.
func (q *queue) take() *dpSandbox {
	for len(q.free) > 0 {
		sb := q.free[len(q.free)-1]
		q.free = q.free[:len(q.free)-1]
		if !sb.removed {
			sb.busy = true
			q.inflight++
			return sb
		}
	}
	return nil
}

// give hands a sandbox that became free to the oldest waiter, or keeps it.
func (q *queue) give(sb *dpSandbox) {
	if sb.removed {
		return
	}
	if e := q.waiters.Front(); e != nil {
		q.waiters.Remove(e)
		sb.busy = true
		q.inflight++
		e.Value.(chan *dpSandbox) <- sb
		return
	}
	q.free = append(q.free, sb)
}

// update replaces the Ready set with refs.
func (q *queue) update(refs []SandboxRef) {
	next := make(map[string]bool, len(refs))
	for _, r := range refs {
		next[r.ID] = true
		if _, ok := q.sandboxes[r.ID]; !ok {
			sb := &dpSandbox{ref: r}
			q.sandboxes[r.ID] = sb
			q.give(sb)
		}
	}
	for id, sb := range q.sandboxes {
		if !next[id] {
			sb.removed = true
			delete(q.sandboxes, id)
		}
	}
	free := q.free[:0]
	for _, sb := range q.free {
		if !sb.removed {
			free = append(free, sb)
		}
	}
	q.free = free
	if len(q.sandboxes) > 0 {
		q.coldSent = false
	}
}
