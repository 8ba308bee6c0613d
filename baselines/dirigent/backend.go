package dirigent

import (
	"context"
	"fmt"
	"time"
)

// Backend is an external provider of sandboxes for the control plane: with
// one, Dirigent keeps its front-end (data planes and autoscaler) and hands
// the sandboxes to another orchestrator, as dr-k8s+ and dr-kd+ hand them
// to Kubernetes or Kubedirect (the Kubedirect paper's Fig 13). The backend
// reports the sandboxes that are Ready with ControlPlane.SetSandboxes.
type Backend interface {
	// Scale asks for n sandboxes of fn. It returns once the request is
	// accepted, not once the sandboxes are Ready.
	Scale(ctx context.Context, fn Function, n int) error
}

// scaleExternalLocked sends f's desired count to the backend. One request
// per function is outstanding at a time; the newest count wins, so a burst
// of decisions costs at most two calls. cp.mu is held.
func (cp *ControlPlane) scaleExternalLocked(f *function) {
	if f.scaling || f.requested == f.desired || cp.closed {
		return
	}
	f.scaling = true
	cp.calls.Add(1)
	go func() {
		defer cp.calls.Done()
		cp.mu.Lock()
		defer cp.mu.Unlock()
		for {
			n := f.desired
			cp.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			err := cp.cfg.Backend.Scale(ctx, f.spec, n)
			cancel()
			cp.mu.Lock()
			if err != nil {
				cp.cfg.Logf("dirigent: backend: scaling %s to %d: %v", f.spec.Name, n, err)
				f.scaling = false
				return // the next autoscaling period retries
			}
			f.requested = n
			if f.desired == n || cp.closed {
				f.scaling = false
				return
			}
		}
	}()
}

// SetSandboxes replaces the Ready sandboxes of function name with what an
// external Backend reports, and pushes them to the data planes.
func (cp *ControlPlane) SetSandboxes(name string, refs []SandboxRef) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.cfg.Backend == nil {
		return fmt.Errorf("function %s: sandboxes are set by an external backend only; this control plane has worker daemons", name)
	}
	f, ok := cp.functions[name]
	if !ok {
		return fmt.Errorf("function %s is not registered", name)
	}
	next := make(map[string]*sandbox, len(refs))
	now := time.Now()
	for _, r := range refs {
		if r.ID == "" || r.URL == "" {
			return fmt.Errorf("function %s: sandbox %q without an ID or URL", name, r.ID)
		}
		if s, ok := f.sandboxes[r.ID]; ok {
			next[r.ID] = s
			continue
		}
		cp.seq++
		next[r.ID] = &sandbox{id: r.ID, seq: cp.seq, url: r.URL, ready: true, placed: now,
			worker: &worker{info: workerInfo{Name: r.Worker}, alive: true}}
		cp.creations++
		cp.metrics.creations.Inc()
	}
	f.sandboxes = next
	cp.pushLocked(f, false)
	return nil
}
