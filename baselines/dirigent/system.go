package dirigent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/k8s"
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

// Cluster asks for the "+" systems' sandbox delay, which Prepare makes the
// workers' creation cost: dirigent then shares a cluster with dr-k8s+ and
// dr-kd+ and pays what their sandboxes cost, so Fig 13 compares the
// orchestrators, not the sandboxes. The cluster's nodes only say how many
// worker daemons to run.
func (*System) Cluster(spec clusters.Spec) clusters.Spec {
	spec.SandboxDelay = k8s.PlusSandboxDelay
	return spec
}

// Podless implements baselines.Podless: Dirigent's sandboxes are not
// Kubernetes pods, so experiments that wait for Ready pods cannot run it.
func (*System) Podless() bool { return true }

// Prepare starts the deployment: one worker daemon per cluster node, whose
// sandbox creation costs the cluster's sandbox delay. On a cluster whose
// nodes give pods none (real kubelets) the daemons, which are kdbench's own,
// still pay the "+" delay Cluster asked for, not a silent other cost; the
// paper's 40 ms is for a deployment without a cluster.
func (s *System) Prepare(ctx context.Context, env baselines.Env) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d != nil {
		return errors.New("dirigent: already prepared")
	}
	cfg := Config{Workers: 1, CreationCost: ScalabilityCreationCost, Logf: env.Logf}
	if c := env.Cluster; c != nil {
		cfg.Workers = max(1, c.Nodes)
		cfg.CreationCost = k8s.PlusSandboxDelay
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
	s.mu.Unlock()
	if err := s.register(ctx, d, Function{Name: function}); err != nil {
		return err
	}
	return d.Scale(ctx, function, int(replicas))
}

// register registers fn on d once; concurrent callers for the same name
// wait for the first, and a failed registration is retried by the next.
func (s *System) register(ctx context.Context, d *Deployment, fn Function) error {
	s.mu.Lock()
	if s.registered == nil {
		s.mu.Unlock()
		return fmt.Errorf("dirigent: registering %s: not prepared", fn.Name)
	}
	reg, ok := s.registered[fn.Name]
	if !ok {
		reg = &registration{done: make(chan struct{})}
		s.registered[fn.Name] = reg
	}
	s.mu.Unlock()
	if !ok {
		reg.err = d.Register(ctx, fn)
		close(reg.done)
		if reg.err != nil {
			s.mu.Lock()
			if s.registered[fn.Name] == reg {
				delete(s.registered, fn.Name)
			}
			s.mu.Unlock()
		}
	}
	select {
	case <-reg.done:
		return reg.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// forget drops a function's registration record after a deregistration.
func (s *System) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.registered, name)
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
