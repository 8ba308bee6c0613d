// Package fault injects the failures of the failover experiment and of the
// tests that check recovery: a process crashed and restarted, a process
// stalled (SIGSTOP), a link cut or slowed (a TCP proxy between two hops).
//
// Each failure is an Injector: Inject starts it, Recover ends it (starts the
// process again, resumes it, lets traffic through). The experiment times
// convergence from either; Run does both around a hold time and records when.
//
// The systems supply the targets:
//
//	crash-restart a kd hop      Funcs{InjectFunc: kd.System.Restart("kd-scheduler")}
//	stall a kd hop              &Stall{Signal: func(ctx, sig) error { return sys.Signal(ctx, "kd-scheduler", sig) }}
//	cut/slow a kd link          &LinkCut{Proxy: sys.Link("scheduler")} (kd.System.LinkProxies)
//	restart a K8s component     Funcs{InjectFunc: local.Provider.Restart(cluster, "kube-apiserver")}
//	                            (also kube-controller-manager, kube-scheduler, nodeagent, etcd)
package fault

import (
	"context"
	"fmt"
	"time"
)

// Injector is one failure of one target.
type Injector interface {
	// String names the failure and its target, e.g. "crash kd-scheduler".
	String() string
	// Inject starts the failure; it returns once the failure is in effect.
	Inject(ctx context.Context) error
	// Recover ends it; it returns once the cause is gone (the process runs
	// again, traffic flows), not once the system has converged.
	Recover(ctx context.Context) error
}

// Timeline is when a failure was injected and recovered.
type Timeline struct {
	Fault     string
	Injected  time.Time // Inject returned
	Recovered time.Time // Recover returned
}

// Run injects f, holds it for hold (or until ctx ends) and recovers it. It
// always tries to recover a fault it injected, even when ctx has ended, so
// a cancelled run leaves no process stopped and no link cut.
func Run(ctx context.Context, f Injector, hold time.Duration) (Timeline, error) {
	tl := Timeline{Fault: f.String()}
	if err := f.Inject(ctx); err != nil {
		return tl, fmt.Errorf("injecting %s: %w", f, err)
	}
	tl.Injected = time.Now()
	t := time.NewTimer(hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	rctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	if err := f.Recover(rctx); err != nil {
		return tl, fmt.Errorf("recovering from %s: %w", f, err)
	}
	tl.Recovered = time.Now()
	return tl, ctx.Err()
}

// Funcs is an Injector from two functions, for failures that a supervisor
// performs itself (kd's Restart, an API-server restart by its provider).
type Funcs struct {
	Name                    string
	InjectFunc, RecoverFunc func(ctx context.Context) error
}

func (f Funcs) String() string { return f.Name }

// Inject calls InjectFunc, if any.
func (f Funcs) Inject(ctx context.Context) error {
	if f.InjectFunc == nil {
		return nil
	}
	return f.InjectFunc(ctx)
}

// Recover calls RecoverFunc, if any.
func (f Funcs) Recover(ctx context.Context) error {
	if f.RecoverFunc == nil {
		return nil
	}
	return f.RecoverFunc(ctx)
}
