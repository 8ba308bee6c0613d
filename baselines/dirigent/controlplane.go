package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ControlPlaneConfig is the control plane's.
type ControlPlaneConfig struct {
	Autoscaler AutoscalerConfig
	// HeartbeatTimeout is how long a worker may stay silent before it is
	// declared dead and its sandboxes re-created elsewhere.
	HeartbeatTimeout time.Duration
	// Now is the clock of autoscaling decisions; nil means time.Now.
	Now func() time.Time
	// Logf, when set, receives the control plane's notable events.
	Logf func(format string, args ...any)
}

func (c *ControlPlaneConfig) defaults() {
	if c.Autoscaler == (AutoscalerConfig{}) {
		c.Autoscaler = DefaultAutoscalerConfig()
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 3 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// ControlPlane keeps Dirigent's cluster state in memory and turns desired
// sandbox counts into sandboxes on workers.
type ControlPlane struct {
	cfg     ControlPlaneConfig
	srv     *server
	metrics *cpMetrics
	client  *http.Client
	stop    context.CancelFunc
	loops   sync.WaitGroup
	calls   sync.WaitGroup // creations, deletions and pushes in flight

	mu         sync.Mutex
	functions  map[string]*function
	workers    []*worker // in registration order, for round robin
	dataPlanes []string
	seq        uint64 // sandbox ids
	version    uint64 // endpoint updates, across functions
	rr         int
	creations  int
	// closed stops new calls to workers and data planes, so Close can
	// wait for the outstanding ones.
	closed bool
}

// StartControlPlane starts the control plane's server and its autoscaling
// and health loops.
func StartControlPlane(cfg ControlPlaneConfig) (*ControlPlane, error) {
	cfg.defaults()
	cp := &ControlPlane{cfg: cfg, client: newClient(), functions: map[string]*function{}}
	reg := prometheus.NewRegistry()
	cp.metrics = newCPMetrics(reg, cp)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathPrometheus, metricsHandler(reg))
	mux.HandleFunc("POST "+pathFunctions, cp.handleRegister)
	mux.HandleFunc("DELETE "+pathFunctions+"/{name}", cp.handleDeregister)
	mux.HandleFunc("POST "+pathScale, cp.handleScale)
	mux.HandleFunc("POST "+pathWorkers, cp.handleWorker)
	mux.HandleFunc("POST "+pathHeartbeat, cp.handleHeartbeat)
	mux.HandleFunc("POST "+pathDataPlanes, cp.handleDataPlane)
	mux.HandleFunc("POST "+pathMetrics, cp.handleMetrics)
	mux.HandleFunc("POST "+pathColdStart, cp.handleColdStart)
	srv, err := listen(mux)
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	cp.srv = srv
	ctx, stop := context.WithCancel(context.Background())
	cp.stop = stop
	cp.loops.Add(2)
	go cp.every(ctx, cfg.Autoscaler.Period, cp.autoscale)
	go cp.every(ctx, cfg.HeartbeatTimeout/3, cp.checkWorkers)
	return cp, nil
}

// URL is the control plane's base URL.
func (cp *ControlPlane) URL() string { return cp.srv.url }

// Close stops the loops and the server and waits for outstanding calls.
func (cp *ControlPlane) Close() error {
	cp.stop()
	cp.loops.Wait()
	err := cp.srv.close()
	cp.mu.Lock()
	cp.closed = true
	cp.mu.Unlock()
	cp.calls.Wait()
	return err
}

func (cp *ControlPlane) every(ctx context.Context, d time.Duration, f func()) {
	defer cp.loops.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// FunctionState is a snapshot of one function.
type FunctionState struct {
	Desired, Sandboxes, Ready int
}

// Function returns a snapshot of the named function.
func (cp *ControlPlane) Function(name string) (FunctionState, bool) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	f, ok := cp.functions[name]
	if !ok {
		return FunctionState{}, false
	}
	live, ready := f.live()
	return FunctionState{Desired: f.desired, Sandboxes: live, Ready: ready}, true
}

// SandboxesOn counts the live sandboxes placed on the named worker.
func (cp *ControlPlane) SandboxesOn(name string) int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, w := range cp.workers {
		if w.info.Name == name {
			return w.sandboxes
		}
	}
	return 0
}

// Creations counts the sandboxes created so far (Ready at least once).
func (cp *ControlPlane) Creations() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.creations
}

var errExists = errors.New("already registered")

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

// autoscale runs every function's autoscaler on the latest samples.
func (cp *ControlPlane) autoscale() {
	now := cp.cfg.Now()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, f := range cp.functions {
		if f.scaler != nil {
			live, ready := f.live()
			f.desired = f.scaler.Tick(now, f.concurrency(), ready, live)
		}
		// Reconciling every period also retries sandboxes that found no
		// room or failed.
		cp.reconcileLocked(f)
	}
}

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
