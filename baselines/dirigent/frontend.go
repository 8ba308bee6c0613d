package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/workloads/replay"
)

var (
	_ replay.FrontEnder = (*System)(nil)
	_ replay.Describer  = (*System)(nil)
)

// FrontEndFacts: all of it is kdbench's implementation of Dirigent's design.
func (s *System) FrontEndFacts() replay.FrontEndFacts {
	return replay.FrontEndFacts{Real: []string{}, Modelled: []string{
		"control plane, data plane, autoscaler, worker daemons: kdbench's implementation of Dirigent's design (baselines/dirigent), not Dirigent's code",
	}}
}

// FrontEnd is a running deployment as the trace replay's front-end: the
// replay's functions registered with Dirigent's autoscaler on, and every
// invocation sent to the first data plane over HTTP, as a client does. The
// Kubernetes Deployments the replay creates are not used.
type FrontEnd struct {
	sys       *System
	d         *Deployment
	functions []string
	logf      func(string, ...any)
	stopOnce  sync.Once
}

// StartFrontEnd implements replay.FrontEnder: it registers functions
// (namespace is not part of Dirigent's names) with autoscaling, at zero
// sandboxes.
func (s *System) StartFrontEnd(ctx context.Context, env baselines.Env, _ string, functions []string) (replay.FrontEnd, error) {
	f := &FrontEnd{sys: s, logf: env.Logf}
	if f.logf == nil {
		f.logf = func(string, ...any) {}
	}
	s.mu.Lock()
	f.d = s.d
	s.mu.Unlock()
	if f.d == nil {
		return nil, errors.New("dirigent: front-end started before Prepare")
	}
	for _, fn := range functions {
		if err := s.register(ctx, f.d, Function{Name: fn, Autoscale: true}); err != nil {
			f.Stop()
			return nil, err
		}
		f.functions = append(f.functions, fn)
	}
	return f, nil
}

// Invoke sends one invocation through the data plane; every call returns a
// Result, completed or failed with a gateway reason.
func (f *FrontEnd) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	c := Call{ID: inv.InvocationID, RuntimeUs: inv.Runtime.Microseconds(), MemoryMiB: int64(inv.MemoryMiB)}
	start := time.Now()
	rep, err := f.d.Call(ctx, inv.Function, c)
	rec := newRecord(inv.Function, c, start, time.Since(start), rep, err)
	rec.Instance, rec.Phase = inv.Instance, inv.Phase
	res := gateway.Result{Record: rec, ColdStart: rep.ColdStart, Instance: rep.Sandbox}
	if err != nil {
		res.Reason, res.Err = reason(ctx, err), fmt.Errorf("dirigent: %s %s: %w", inv.Function, inv.InvocationID, err)
	}
	return res
}

// reason maps a data plane failure to the gateway's reasons, so the
// replay's accounting reads the same for every system.
func reason(ctx context.Context, err error) string {
	var se *StatusError
	switch {
	case ctx.Err() != nil:
		return gateway.ReasonCanceled
	case errors.As(err, &se) && se.Status == http.StatusGatewayTimeout:
		return gateway.ReasonDispatchTimeout
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return gateway.ReasonUnknownFunction
	default:
		return gateway.ReasonInstanceError
	}
}

// Stop deregisters the front-end's functions and their sandboxes, so the
// next replay on the same deployment starts from none.
func (f *FrontEnd) Stop() {
	f.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, fn := range f.functions {
			if err := f.d.Deregister(ctx, fn); err != nil {
				f.logf("dirigent: stopping the front-end: %v", err)
			}
			f.sys.forget(fn)
		}
	})
}
