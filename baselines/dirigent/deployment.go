package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ScalabilityCreationCost is what the paper's worker daemons sleep per
// sandbox in its scalability experiment (§5.2.3): the median Firecracker
// microVM creation time from a snapshot.
const ScalabilityCreationCost = 40 * time.Millisecond

// Config is a whole Dirigent deployment on loopback.
type Config struct {
	// Workers is the number of worker daemons (simulated nodes).
	Workers int
	// WorkerCPUMilli and WorkerMemoryMiB are each worker's allocatable
	// resources; 0 means unbounded.
	WorkerCPUMilli, WorkerMemoryMiB int64
	// DataPlanes is the number of data planes (default 1).
	DataPlanes int
	// CreationCost is slept per sandbox creation.
	CreationCost time.Duration
	// HeartbeatInterval is the workers' (default 1 s); HeartbeatTimeout the
	// control plane's (default 3 intervals).
	HeartbeatInterval, HeartbeatTimeout time.Duration
	Autoscaler                          AutoscalerConfig
	// DispatchTimeout bounds a queued request's wait (default 30 s).
	DispatchTimeout time.Duration
	// Backend, when set, provides the sandboxes instead of worker daemons
	// (dr-k8s+, dr-kd+); Workers may then be 0.
	Backend Backend
	// Runtime makes each worker's sandbox runtime; nil means SleepRuntime.
	Runtime func(worker string) Runtime
	Now     func() time.Time
	Logf    func(format string, args ...any)
}

// Deployment is a running control plane, its data planes and workers.
type Deployment struct {
	ControlPlane *ControlPlane
	DataPlanes   []*DataPlane
	Workers      []*Worker
	client       *http.Client
}

// Start brings a deployment up: control plane, then workers, then data
// planes. On error, what was started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Deployment, err error) {
	if cfg.Workers < 0 || cfg.Workers == 0 && cfg.Backend == nil {
		return nil, fmt.Errorf("dirigent: %d workers: want at least one, or a backend", cfg.Workers)
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = 3 * cfg.HeartbeatInterval
	}
	cp, err := StartControlPlane(ControlPlaneConfig{
		Autoscaler: cfg.Autoscaler, HeartbeatTimeout: cfg.HeartbeatTimeout, Backend: cfg.Backend, Now: cfg.Now, Logf: cfg.Logf,
	})
	if err != nil {
		return nil, err
	}
	d := &Deployment{ControlPlane: cp, client: newClient()}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	for i := range cfg.Workers {
		wc := WorkerConfig{
			Name: fmt.Sprintf("worker-%d", i), ControlPlane: cp.URL(),
			CPUMilli: cfg.WorkerCPUMilli, MemoryMiB: cfg.WorkerMemoryMiB,
			CreationCost: cfg.CreationCost, HeartbeatInterval: cfg.HeartbeatInterval,
		}
		if cfg.Runtime != nil {
			wc.Runtime = cfg.Runtime(wc.Name)
		}
		w, err := StartWorker(ctx, wc)
		if err != nil {
			return nil, err
		}
		d.Workers = append(d.Workers, w)
	}
	for range max(1, cfg.DataPlanes) {
		dp, err := StartDataPlane(ctx, DataPlaneConfig{
			ControlPlane: cp.URL(), DispatchTimeout: cfg.DispatchTimeout, MetricsPeriod: cp.cfg.Autoscaler.Period,
		})
		if err != nil {
			return nil, err
		}
		d.DataPlanes = append(d.DataPlanes, dp)
	}
	return d, nil
}

// MetricsEndpoints names every component's Prometheus /metrics URL.
func (d *Deployment) MetricsEndpoints() map[string]string {
	out := map[string]string{"dirigent-controlplane": d.ControlPlane.URL() + pathPrometheus}
	for i, dp := range d.DataPlanes {
		out[fmt.Sprintf("dirigent-dataplane-%d", i)] = dp.URL() + pathPrometheus
	}
	return out
}

// Close stops data planes, workers and the control plane.
func (d *Deployment) Close() error {
	var errs []error
	for _, dp := range d.DataPlanes {
		errs = append(errs, dp.Close())
	}
	for _, w := range d.Workers {
		w.Kill()
	}
	errs = append(errs, d.ControlPlane.Close())
	return errors.Join(errs...)
}

// Register registers a function through the control plane's API.
func (d *Deployment) Register(ctx context.Context, fn Function) error {
	if err := post(ctx, d.client, http.MethodPost, d.ControlPlane.URL()+pathFunctions, fn, nil); err != nil {
		return fmt.Errorf("registering function %s: %w", fn.Name, err)
	}
	return nil
}

// Deregister removes a function and its sandboxes.
func (d *Deployment) Deregister(ctx context.Context, name string) error {
	u := d.ControlPlane.URL() + pathFunctions + "/" + url.PathEscape(name)
	if err := post(ctx, d.client, http.MethodDelete, u, nil, nil); err != nil {
		return fmt.Errorf("deregistering function %s: %w", name, err)
	}
	return nil
}

// Scale sets a function's desired sandboxes; it returns once accepted.
func (d *Deployment) Scale(ctx context.Context, name string, sandboxes int) error {
	req := scaleRequest{Function: name, Sandboxes: sandboxes}
	if err := post(ctx, d.client, http.MethodPost, d.ControlPlane.URL()+pathScale, req, nil); err != nil {
		return fmt.Errorf("scaling function %s to %d: %w", name, sandboxes, err)
	}
	return nil
}

// Call invokes a function through the first data plane over HTTP, as a
// client does.
func (d *Deployment) Call(ctx context.Context, function string, c Call) (Reply, error) {
	var rep Reply
	u := d.DataPlanes[0].URL() + pathInvoke + url.PathEscape(function)
	err := post(ctx, d.client, http.MethodPost, u, c, &rep)
	return rep, err
}
