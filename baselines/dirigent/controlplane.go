package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// Backend, when set, provides the sandboxes instead of worker daemons.
	Backend Backend
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
	mux.HandleFunc("POST "+pathCrashed, cp.handleCrashed)
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

// autoscale runs every function's autoscaler on the latest samples.
func (cp *ControlPlane) autoscale() {
	now := cp.cfg.Now()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, f := range cp.functions {
		if f.scaler != nil {
			live, ready := f.live()
			if cp.cfg.Backend != nil {
				// The backend's pending sandboxes are not visible: count
				// the ones asked for.
				live = max(live, f.desired)
			}
			f.desired = f.scaler.Tick(now, f.concurrency(), ready, live)
		}
		// Reconciling every period also retries sandboxes that found no
		// room or failed.
		cp.reconcileLocked(f)
	}
}
