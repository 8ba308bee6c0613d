package local

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// Components lists what Restart and PID accept, in start order.
var Components = []string{etcdComponent, apiserverComponent, kcmComponent, schedComponent, nodeAgentComponent}

func (pl *plan) component(name string) (c component, err error) {
	defer func() {
		c.Args = WithFlags(c.Args, pl.extra[name])
		c.Dir = pl.l.ComponentDir(name) // where Reconfigure writes its files
	}()
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
	return p.replace(ctx, "restart", cluster, component, 0, nil)
}

// Reconfigure restarts a component (SIGTERM, as an operator would) with
// extra flags, each replacing the flag of the same name; nil restores the
// flags it started with. files are written first into the component's
// working directory (layout.ComponentDir), where extra names them by
// relative path. Later Restarts keep the extra flags and the files.
// kd-family systems run the controller-manager without its deployment and
// replicaset controllers this way, and the node agent in direct mode
// (docs/placement.md).
func (p *Provider) Reconfigure(ctx context.Context, cluster, component string, extra []string, files []clusters.File) error {
	if len(files) > 0 && slices.Contains(Components, component) { // replace refuses others
		l, err := p.layout(cluster)
		if err != nil {
			return err
		}
		if err := WriteFiles(l.ComponentDir(component), files); err != nil {
			return fmt.Errorf("reconfigure %s: %w", component, err)
		}
	}
	return p.replace(ctx, "reconfigure", cluster, component, 10*time.Second, &extra)
}

// replace stops component (grace 0: a crash) and starts it again, with the
// plan's extra flags set to *extra first when extra is not nil.
func (p *Provider) replace(ctx context.Context, verb, cluster, component string, grace time.Duration, extra *[]string) error {
	p.mu.Lock()
	pl, procs := p.plans[cluster], p.procs[cluster]
	p.mu.Unlock()
	if pl == nil {
		return fmt.Errorf("%s %s: cluster %q was not started by this kdbench process", verb, component, cluster)
	}
	if !slices.Contains(Components, component) {
		return fmt.Errorf("%s: no component %q (want one of %v)", verb, component, Components)
	}
	i := slices.IndexFunc(procs, func(pr *proc) bool { return pr.Name == component })
	if i < 0 {
		return fmt.Errorf("%s %s: not running in cluster %q", verb, component, cluster)
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
	p.mu.Lock()
	if extra != nil {
		if len(*extra) == 0 {
			delete(pl.extra, component)
		} else {
			if pl.extra == nil {
				pl.extra = map[string][]string{}
			}
			pl.extra[component] = *extra
		}
	}
	c, _ := pl.component(component)
	p.mu.Unlock()
	old := procs[i]
	old.Stop(grace)
	if old.Alive() {
		return fmt.Errorf("%s %s: pid %d survived SIGKILL", verb, component, old.PID)
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

// reconfigurer is one cluster's clusters.Reconfigurer.
type reconfigurer struct {
	p       *Provider
	cluster string
}

func (r reconfigurer) Reconfigure(ctx context.Context, host clusters.Host, component string, extra []string, files []clusters.File) error {
	if host.Name != Host.Name {
		return fmt.Errorf("reconfigure %s: no host %q in a local cluster (only %s)", component, host.Name, Host.Name)
	}
	return r.p.Reconfigure(ctx, r.cluster, component, extra, files)
}

// CrashRefusal: every local cluster's components can be crashed and stalled
// (its Crasher), while this process supervises them.
func (p *Provider) CrashRefusal(clusters.Spec) string { return "" }

// crasher is one cluster's clusters.Crasher: Restart and Signal.
type crasher struct {
	p       *Provider
	cluster string
}

func (r crasher) Crash(ctx context.Context, host clusters.Host, component string) error {
	if host.Name != Host.Name {
		return fmt.Errorf("crash %s: no host %q in a local cluster (only %s)", component, host.Name, Host.Name)
	}
	return r.p.Restart(ctx, r.cluster, component)
}

func (r crasher) Signal(ctx context.Context, host clusters.Host, component string, sig syscall.Signal) error {
	if host.Name != Host.Name {
		return fmt.Errorf("%v to %s: no host %q in a local cluster (only %s)", sig, component, host.Name, Host.Name)
	}
	return r.p.Signal(ctx, r.cluster, component, sig)
}

// WithFlags returns args with each of extra replacing the flag of the same
// name (--name=value), or appended.
func WithFlags(args, extra []string) []string {
	name := func(a string) string { n, _, _ := strings.Cut(a, "="); return n }
	out := slices.Clone(args)
	for _, e := range extra {
		if i := slices.IndexFunc(out, func(a string) bool { return name(a) == name(e) }); i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}
