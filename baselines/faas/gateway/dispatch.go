package gateway

import (
	"context"
	"errors"
	"sort"
)

var errDispatchTimeout = errors.New("no instance free within the dispatch timeout")

// slot is one instance with its in-flight count.
type slot struct {
	inst     Instance
	inflight int
	removed  bool // no longer ready: finishes its calls, takes no new ones
}

// waiter is one queued invocation; a hand-off sends it a slot already
// counted as busy.
type waiter chan *slot

// function is one function's instances and queue; guarded by Gateway.mu.
type function struct {
	limit int
	slots map[string]*slot
	order []*slot // by instance ID: first-available routing, as Knative's
	// activator does for a finite containerConcurrency
	queue []waiter // FIFO
}

func newFunction(limit int) *function { return &function{limit: limit, slots: map[string]*slot{}} }

func (f *function) set(instances []Instance) {
	next := make(map[string]*slot, len(instances))
	for _, in := range instances {
		s, ok := f.slots[in.ID()]
		if !ok {
			s = &slot{inst: in}
		}
		next[in.ID()] = s
	}
	for id, s := range f.slots {
		if _, ok := next[id]; !ok {
			s.removed = true
		}
	}
	f.slots = next
	f.order = f.order[:0]
	for _, s := range next {
		f.order = append(f.order, s)
	}
	sort.Slice(f.order, func(i, j int) bool { return f.order[i].inst.ID() < f.order[j].inst.ID() })
	for _, s := range f.order {
		for s.inflight < f.limit && len(f.queue) > 0 {
			s.inflight++
			f.pop() <- s
		}
	}
}

func (f *function) free() *slot {
	for _, s := range f.order {
		if s.inflight < f.limit {
			return s
		}
	}
	return nil
}

func (f *function) pop() waiter {
	w := f.queue[0]
	f.queue[0] = nil
	f.queue = f.queue[1:]
	return w
}

// dequeue removes w if it is still queued.
func (f *function) dequeue(w waiter) bool {
	for i, q := range f.queue {
		if q == w {
			f.queue = append(f.queue[:i], f.queue[i+1:]...)
			return true
		}
	}
	return false
}

// acquire returns a slot of f counted as busy, waiting in FIFO order for one
// up to the dispatch timeout.
func (g *Gateway) acquire(ctx context.Context, f *function) (*slot, error) {
	g.mu.Lock()
	if s := f.free(); s != nil {
		s.inflight++
		g.mu.Unlock()
		return s, nil
	}
	w := make(waiter, 1)
	f.queue = append(f.queue, w)
	g.mu.Unlock()

	timer := g.clock.NewTimer(g.cfg.DispatchTimeout)
	defer timer.Stop()
	var err error
	select {
	case s := <-w:
		return s, nil
	case <-timer.C():
		err = errDispatchTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.mu.Lock()
	queued := f.dequeue(w)
	g.mu.Unlock()
	if queued {
		return nil, err
	}
	// A slot was handed over while the wait ended.
	s := <-w
	if ctx.Err() != nil {
		g.release(f, s)
		return nil, ctx.Err()
	}
	return s, nil
}

// release frees s, handing it straight to the oldest queued invocation if
// its instance is still ready.
func (g *Gateway) release(f *function, s *slot) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !s.removed && len(f.queue) > 0 {
		f.pop() <- s
		return
	}
	s.inflight--
}
