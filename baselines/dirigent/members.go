package dirigent

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The control plane's members: data planes and worker daemons, which
// register themselves; workers stay members while their heartbeats arrive.

func (cp *ControlPlane) handleDataPlane(w http.ResponseWriter, r *http.Request) {
	var dp dataPlaneInfo
	if !decode(w, r, &dp) {
		return
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.dataPlanes = append(cp.dataPlanes, dp.URL)
	for _, f := range cp.functions {
		cp.pushLocked(f, false)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (cp *ControlPlane) handleWorker(w http.ResponseWriter, r *http.Request) {
	var info workerInfo
	if !decode(w, r, &info) {
		return
	}
	if info.Name == "" || info.URL == "" {
		http.Error(w, "worker registration needs a name and a URL", http.StatusBadRequest)
		return
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, wk := range cp.workers {
		if wk.info.Name == info.Name && wk.alive {
			http.Error(w, fmt.Sprintf("worker %s: %v", info.Name, errExists), http.StatusConflict)
			return
		}
	}
	cp.workers = append(cp.workers, &worker{info: info, lastHeartbeat: time.Now(), alive: true})
	for _, f := range cp.functions {
		cp.reconcileLocked(f)
	}
	w.WriteHeader(http.StatusCreated)
}

func (cp *ControlPlane) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	var hb heartbeat
	if !decode(w, r, &hb) {
		return
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, wk := range cp.workers {
		if wk.info.Name == hb.Worker && wk.alive {
			wk.lastHeartbeat = time.Now()
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	http.Error(w, "unknown worker "+strconv.Quote(hb.Worker), http.StatusNotFound)
}

// handleCrashed replaces a sandbox whose process its worker saw exit.
func (cp *ControlPlane) handleCrashed(w http.ResponseWriter, r *http.Request) {
	var c sandboxCrash
	if !decode(w, r, &c) {
		return
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	f, ok := cp.functions[c.Function]
	if !ok {
		w.WriteHeader(http.StatusNoContent) // deregistered meanwhile
		return
	}
	s, ok := f.sandboxes[c.Sandbox]
	if !ok || s.worker.info.Name != c.Worker {
		w.WriteHeader(http.StatusNoContent) // already gone
		return
	}
	cp.cfg.Logf("dirigent: sandbox %s of %s crashed on %s; replacing it", c.Sandbox, c.Function, c.Worker)
	cp.forgetLocked(f, s)
	if s.ready && !s.deleting {
		cp.pushLocked(f, false)
	}
	cp.reconcileLocked(f)
	w.WriteHeader(http.StatusNoContent)
}

// checkWorkers declares silent workers dead: their sandboxes are dropped
// from the data planes and re-created on the remaining workers.
func (cp *ControlPlane) checkWorkers() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	now := time.Now()
	kept := cp.workers[:0]
	var dead []*worker
	for _, wk := range cp.workers {
		if now.Sub(wk.lastHeartbeat) > cp.cfg.HeartbeatTimeout {
			wk.alive = false
			dead = append(dead, wk)
			continue
		}
		kept = append(kept, wk)
	}
	cp.workers = kept
	if len(dead) == 0 {
		return
	}
	for _, wk := range dead {
		cp.metrics.workerFailures.Inc()
		cp.cfg.Logf("dirigent: worker %s missed heartbeats for %v; re-creating its %d sandboxes", wk.info.Name, cp.cfg.HeartbeatTimeout, wk.sandboxes)
	}
	for _, f := range cp.functions {
		lost := false
		for id, s := range f.sandboxes {
			if !s.worker.alive {
				delete(f.sandboxes, id)
				lost = lost || s.ready
			}
		}
		if lost {
			cp.pushLocked(f, false)
		}
		cp.reconcileLocked(f)
	}
}
