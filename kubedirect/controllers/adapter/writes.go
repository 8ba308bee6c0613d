package adapter

import "sync"

// writes runs the background API writes of managed objects: one at a time
// per key, and of the writes that wait, only the latest. A burst makes the
// ReplicaSet controller write one ReplicaSet's status once per pod event;
// queued one by one they took the process's shared client rate limiter
// (20 QPS by default) for minutes, and every request behind them (the pod
// informer's template lookups) waited as long (kd stalled at 600 pods).
// Each write replaces the whole object or status, so skipping the writes a
// newer one supersedes loses nothing.
type writes struct {
	mu      sync.Mutex
	running map[string]bool
	pending map[string]func()
}

// do runs f under key through run (which starts it, e.g. in a goroutine)
// unless a write of key is running; then f waits, replacing any write that
// was waiting before it.
func (w *writes) do(key string, f func(), run func(func())) {
	w.mu.Lock()
	if w.running == nil {
		w.running, w.pending = map[string]bool{}, map[string]func(){}
	}
	if w.running[key] {
		w.pending[key] = f
		w.mu.Unlock()
		return
	}
	w.running[key] = true
	w.mu.Unlock()
	run(func() { w.drain(key, f) })
}

func (w *writes) drain(key string, f func()) {
	for f != nil {
		f()
		w.mu.Lock()
		f = w.pending[key]
		delete(w.pending, key)
		if f == nil {
			delete(w.running, key)
		}
		w.mu.Unlock()
	}
}
