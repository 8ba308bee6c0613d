package local

import (
	"context"
	"fmt"
	"slices"
	"syscall"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// Components lists what Restart and PID accept, in start order.
var Components = []string{etcdComponent, apiserverComponent, kcmComponent, schedComponent, nodeAgentComponent}

func (pl *plan) component(name string) (component, error) {
	switch name {
	case etcdComponent:
		return pl.etcd(), nil
	case apiserverComponent:
		return pl.apiserver(), nil
	case kcmComponent:
		return pl.controllerManager(), nil
	case schedComponent:
		return pl.scheduler(), nil
	case nodeAgentComponent:
		return pl.nodeAgent(), nil
	}
	return component{}, fmt.Errorf("no component %q (want one of %v)", name, Components)
}

// PID is the process id of a component of a cluster this provider started
// (0 if none), e.g. for stalling it with SIGSTOP.
func (p *Provider) PID(cluster, component string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.procs[cluster] {
		if pr.Name == component {
			return pr.PID
		}
	}
	return 0
}

// Signal sends sig to a component's process group and returns once it took
// effect (supervisor.SignalGroup): SIGSTOP stalls it, SIGCONT resumes it.
func (p *Provider) Signal(ctx context.Context, cluster, component string, sig syscall.Signal) error {
	p.mu.Lock()
	var pr *proc
	for _, c := range p.procs[cluster] {
		if c.Name == component {
			pr = c
		}
	}
	p.mu.Unlock()
	if pr == nil {
		return fmt.Errorf("%v to %s: not running in cluster %q started by this kdbench process", sig, component, cluster)
	}
	return pr.Signal(ctx, sig)
}

// Restart crashes a component of a cluster this provider started — SIGKILL
// to its process group, no graceful shutdown — and starts it again with the
// same flags and data, returning once it is healthy. For the API server,
// every client's watches break and informers relist, as after a real crash.
func (p *Provider) Restart(ctx context.Context, cluster, component string) error {
	p.mu.Lock()
	pl, procs := p.plans[cluster], p.procs[cluster]
	p.mu.Unlock()
	if pl == nil {
		return fmt.Errorf("restart %s: cluster %q was not started by this kdbench process", component, cluster)
	}
	c, err := pl.component(component)
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	i := slices.IndexFunc(procs, func(pr *proc) bool { return pr.Name == component })
	if i < 0 {
		return fmt.Errorf("restart %s: not running in cluster %q", component, cluster)
	}
	l, err := p.layout(cluster)
	if err != nil {
		return err
	}
	unlock, err := l.lock() // no up or down of this cluster meanwhile
	if err != nil {
		return err
	}
	defer unlock()
	old := procs[i]
	old.Stop(0) // SIGKILL to the group: a crash
	if old.Alive() {
		return fmt.Errorf("restart %s: pid %d survived SIGKILL", component, old.PID)
	}
	np, err := startProcess(c, p.opts.Attached)
	if err != nil {
		return err
	}
	p.mu.Lock()
	procs[i] = np
	p.mu.Unlock()
	// state.json must name the new process, or a later `down` would miss it.
	st, err := l.readState()
	if err != nil {
		return err
	}
	if st != nil {
		for j, pr := range st.Procs {
			if pr.Name == component {
				st.Procs[j] = np
			}
		}
		if err := l.writeState(st); err != nil {
			return err
		}
	}
	return supervisor.WaitHealthy(ctx, np, c.Healthy, p.opts.StartTimeout)
}
