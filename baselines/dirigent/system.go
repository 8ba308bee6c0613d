package dirigent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
)

func init() { baselines.Register(&System{}) }

// Stages are Dirigent's scale-out path: the control plane decides and
// places, a worker daemon creates the sandbox.
var Stages = []string{"control_plane", "worker_daemon"}

// System is Dirigent as a baselines.System. It does not use the cluster's
// API server: Prepare starts a Deployment with a worker daemon per node of
// the cluster, and Scale sets a function's desired sandboxes, registering
// the function on first use with autoscaling off, as a scale request
// pins the count.
type System struct {
	mu         sync.Mutex
	d          *Deployment
	registered map[string]*registration
}

// registration lets concurrent first Scale calls of a function wait for
// the one that registers it.
type registration struct {
	done chan struct{}
	err  error
}

func (*System) Name() string { return "dirigent" }

// Cluster leaves the spec alone: the cluster's nodes only say how many
// worker daemons to run.
func (*System) Cluster(spec clusters.Spec) clusters.Spec { return spec }

// Prepare starts the deployment: one worker daemon per cluster node, whose
// sandbox creation costs the cluster's sandbox delay, or the paper's 40 ms
// when the cluster has none.
func (s *System) Prepare(ctx context.Context, env baselines.Env) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d != nil {
		return errors.New("dirigent: already prepared")
	}
	cfg := Config{Workers: 1, CreationCost: ScalabilityCreationCost, Logf: env.Logf}
	if c := env.Cluster; c != nil {
		cfg.Workers = max(1, c.Nodes)
		if c.SandboxDelay > 0 {
			cfg.CreationCost = c.SandboxDelay
		}
	}
	d, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	s.d, s.registered = d, map[string]*registration{}
	return nil
}

// Scale registers the function if needed and sets its desired sandboxes.
// The namespace is not part of Dirigent's function names.
func (s *System) Scale(ctx context.Context, _ baselines.Env, _, function string, replicas int32) error {
	s.mu.Lock()
	d := s.d
	if d == nil {
		s.mu.Unlock()
		return errors.New("dirigent: Scale before Prepare")
	}
	reg, ok := s.registered[function]
	if !ok {
		reg = &registration{done: make(chan struct{})}
		s.registered[function] = reg
	}
	s.mu.Unlock()
	if !ok {
		reg.err = d.Register(ctx, Function{Name: function})
		close(reg.done)
		if reg.err != nil {
			s.mu.Lock()
			delete(s.registered, function)
			s.mu.Unlock()
		}
	}
	select {
	case <-reg.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if reg.err != nil {
		return reg.err
	}
	return d.Scale(ctx, function, int(replicas))
}

func (*System) Stages() []string { return Stages }

// Teardown stops the deployment.
func (s *System) Teardown(context.Context, baselines.Env) error {
	s.mu.Lock()
	d := s.d
	s.d, s.registered = nil, nil
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("dirigent: stopping: %w", err)
	}
	return nil
}

// Deployment returns the running deployment, or nil before Prepare.
func (s *System) Deployment() *Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d
}

// waitReady polls until fn has n Ready sandboxes.
func (d *Deployment) waitReady(ctx context.Context, fn string, n int) error {
	for {
		if st, ok := d.ControlPlane.Function(fn); ok && st.Ready >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d ready sandboxes of %s: %w", n, fn, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
