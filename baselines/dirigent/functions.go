package dirigent

import (
	"errors"
	"fmt"
	"net/http"
)

// The control plane's function API: registration, scaling, and the
// autoscaling inputs the data planes send.

// register adds a function; its autoscaler starts now. It returns once the
// data planes know the function, so it can be invoked right away.
func (cp *ControlPlane) register(fn Function) error {
	if err := fn.Validate(); err != nil {
		return err
	}
	cp.mu.Lock()
	if _, ok := cp.functions[fn.Name]; ok {
		cp.mu.Unlock()
		return fmt.Errorf("function %s: %w", fn.Name, errExists)
	}
	now := cp.cfg.Now()
	f := &function{spec: fn, registered: now, sandboxes: map[string]*sandbox{}, samples: map[string]float64{}}
	if fn.Autoscale {
		f.scaler = NewAutoscaler(cp.cfg.Autoscaler, now)
	}
	cp.functions[fn.Name] = f
	pushed := cp.pushLocked(f, false)
	cp.mu.Unlock()
	<-pushed
	return nil
}

func (cp *ControlPlane) handleRegister(w http.ResponseWriter, r *http.Request) {
	var fn Function
	if !decode(w, r, &fn) {
		return
	}
	switch err := cp.register(fn); {
	case errors.Is(err, errExists):
		http.Error(w, err.Error(), http.StatusConflict)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		w.WriteHeader(http.StatusCreated)
	}
}

func (cp *ControlPlane) handleDeregister(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	cp.mu.Lock()
	defer cp.mu.Unlock()
	f, ok := cp.functions[name]
	if !ok {
		http.Error(w, fmt.Sprintf("function %s is not registered", name), http.StatusNotFound)
		return
	}
	f.desired = 0
	cp.reconcileLocked(f)
	delete(cp.functions, name)
	cp.pushLocked(f, true)
	w.WriteHeader(http.StatusNoContent)
}

// setDesired sets a function's desired sandboxes and reconciles.
func (cp *ControlPlane) setDesired(name string, n int) error {
	if n < 0 {
		return fmt.Errorf("function %s: negative sandbox count %d", name, n)
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	f, ok := cp.functions[name]
	if !ok {
		return fmt.Errorf("function %s is not registered", name)
	}
	f.desired = n
	cp.reconcileLocked(f)
	return nil
}

func (cp *ControlPlane) handleScale(w http.ResponseWriter, r *http.Request) {
	var req scaleRequest
	if !decode(w, r, &req) {
		return
	}
	if err := cp.setDesired(req.Function, req.Sandboxes); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (cp *ControlPlane) handleMetrics(w http.ResponseWriter, r *http.Request) {
	var m metricsReport
	if !decode(w, r, &m) {
		return
	}
	cp.mu.Lock()
	for name, v := range m.Concurrency {
		if f, ok := cp.functions[name]; ok {
			f.samples[m.DataPlane] = v
		}
	}
	cp.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// handleColdStart scales an autoscaled function from zero to one at once,
// without waiting for the next autoscaling period.
func (cp *ControlPlane) handleColdStart(w http.ResponseWriter, r *http.Request) {
	var req coldStart
	if !decode(w, r, &req) {
		return
	}
	cp.mu.Lock()
	if f, ok := cp.functions[req.Function]; ok && f.scaler != nil && f.desired == 0 {
		f.desired = 1
		cp.reconcileLocked(f)
	}
	cp.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
