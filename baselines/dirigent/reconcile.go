package dirigent

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// callTimeout bounds one control-plane call to a worker or data plane.
const callTimeout = 30 * time.Second

// reconcileLocked moves f's sandboxes towards f.desired: it places and
// creates the missing ones and drains the excess, pending creations first.
// Workers and data planes are called asynchronously; cp.mu is held.
func (cp *ControlPlane) reconcileLocked(f *function) {
	if cp.closed {
		return
	}
	if cp.cfg.Backend != nil {
		cp.scaleExternalLocked(f)
		return
	}
	live, _ := f.live()
	for ; live < f.desired; live++ {
		wk := place(cp.workers, cp.rr, f.spec)
		if wk == nil {
			if !f.unplaced {
				cp.cfg.Logf("dirigent: function %s: no worker fits a sandbox (%d of %d placed); retrying every period", f.spec.Name, live, f.desired)
			}
			f.unplaced = true
			return
		}
		f.unplaced = false
		cp.rr++
		cp.seq++
		s := &sandbox{id: fmt.Sprintf("%s-%d", f.spec.Name, cp.seq), seq: cp.seq, worker: wk, placed: time.Now()}
		wk.sandboxes++
		wk.cpu += f.spec.CPUMilli
		wk.mem += f.spec.MemoryMiB
		f.sandboxes[s.id] = s
		cp.calls.Add(1)
		go cp.create(f, s)
	}
	if live <= f.desired {
		return
	}
	victims := make([]*sandbox, 0, len(f.sandboxes))
	for _, s := range f.sandboxes {
		if !s.deleting {
			victims = append(victims, s)
		}
	}
	// Not-yet-ready sandboxes go first, as undoing them costs no capacity,
	// then the newest.
	sort.Slice(victims, func(i, j int) bool {
		if victims[i].ready != victims[j].ready {
			return !victims[i].ready
		}
		return victims[i].seq > victims[j].seq
	})
	drained := false
	for _, s := range victims[:live-f.desired] {
		s.deleting = true
		if s.ready {
			drained = true
			cp.calls.Add(1)
			go cp.delete(f, s)
		}
	}
	if drained {
		cp.pushLocked(f, false)
	}
}

// create asks s's worker for the sandbox and publishes it once Ready.
func (cp *ControlPlane) create(f *function, s *sandbox) {
	defer cp.calls.Done()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var created sandboxCreated
	err := post(ctx, cp.client, http.MethodPost, s.worker.info.URL+pathSandboxes, createSandbox{ID: s.id, Function: f.spec}, &created)
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if f.sandboxes[s.id] != s {
		return // the worker died meanwhile; the sandbox is gone with it
	}
	switch {
	case err != nil:
		cp.metrics.creationFailures.Inc()
		cp.cfg.Logf("dirigent: creating sandbox %s on %s: %v", s.id, s.worker.info.Name, err)
		cp.forgetLocked(f, s)
	case s.deleting:
		// Scaled down while being created: undo it.
		s.ready, s.url = true, created.URL
		cp.createdLocked(s)
		if !cp.closed {
			cp.calls.Add(1)
			go cp.delete(f, s)
		}
	default:
		s.ready, s.url = true, created.URL
		cp.createdLocked(s)
		cp.pushLocked(f, false)
	}
}

func (cp *ControlPlane) createdLocked(s *sandbox) {
	cp.creations++
	cp.metrics.creations.Inc()
	cp.metrics.creationSeconds.Observe(time.Since(s.placed).Seconds())
}

// delete drains and removes s on its worker; the data planes no longer see
// it, so only calls already sent to it finish there.
func (cp *ControlPlane) delete(f *function, s *sandbox) {
	defer cp.calls.Done()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := post(ctx, cp.client, http.MethodDelete, s.worker.info.URL+pathSandboxes+"/"+s.id, nil, nil)
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if err != nil && s.worker.alive {
		cp.cfg.Logf("dirigent: deleting sandbox %s on %s: %v", s.id, s.worker.info.Name, err)
	}
	if f.sandboxes[s.id] == s {
		cp.forgetLocked(f, s)
	}
}

func (cp *ControlPlane) forgetLocked(f *function, s *sandbox) {
	delete(f.sandboxes, s.id)
	s.worker.sandboxes--
	s.worker.cpu -= f.spec.CPUMilli
	s.worker.mem -= f.spec.MemoryMiB
}

// pushLocked sends f's Ready sandboxes to every data plane. A global
// version orders the updates, which travel concurrently. The returned
// channel closes once every data plane has answered.
func (cp *ControlPlane) pushLocked(f *function, deleted bool) <-chan struct{} {
	done := make(chan struct{})
	if cp.closed {
		close(done)
		return done
	}
	cp.version++
	u := endpointsUpdate{Function: f.spec.Name, Version: cp.version, Sandboxes: f.refs(), Deleted: deleted}
	if deleted {
		u.Sandboxes = nil
	}
	var wg sync.WaitGroup
	for _, dp := range cp.dataPlanes {
		cp.calls.Add(1)
		wg.Add(1)
		go func() {
			defer cp.calls.Done()
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			if err := post(ctx, cp.client, http.MethodPost, dp+pathEndpoints, u, nil); err != nil {
				cp.cfg.Logf("dirigent: pushing %d sandboxes of %s to data plane %s: %v", len(u.Sandboxes), f.spec.Name, dp, err)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	return done
}
