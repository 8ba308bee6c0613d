package failover

import (
	"context"
	"fmt"
	"syscall"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/internal/fault"
)

// hopProcesses is a system that runs the scale-out hops as processes of
// its own (kd, kd+): each can be crashed and restarted empty, stalled, and
// the link into it cut. Restart("kd-autoscaler") restarts the autoscaler
// hop, which runs inside kdbench (no process to stall).
type hopProcesses interface {
	Restart(ctx context.Context, name string) error
	Signal(ctx context.Context, name string, sig syscall.Signal) error
	Link(hop string) *fault.Proxy
}

// linkScaler is a system whose first hop can also be a link (kd: the
// autoscaler → Deployment link), beside its scale-subresource Scale.
type linkScaler interface {
	ScaleOverLink(ctx context.Context, env baselines.Env, namespace, function string, replicas int32) error
}

// overLink tells the cases whose subject is the autoscaler's link: a crash
// of the autoscaler hop or a cut of the link into the Deployment hop. Every
// system's Scale writes the API scale subresource (as the bursts and the
// artifact do), which leaves the autoscaler hop off the scale-out path, so
// these cases scale over the link instead, every scale of the case, where
// the system has one.
func overLink(c Case) bool {
	return c.Target == Autoscaler || (c.Target == Deployment && c.Kind == Cut)
}

// LinkScaledNote is what a case that scaled over the autoscaler's link says
// in its detail.
const LinkScaledNote = "scaled over the autoscaler link (bursts and the other cases scale through the API scale subresource)"

// componentRestarter is a cluster provider that supervises the control
// plane's processes (clusters/local).
type componentRestarter interface {
	Restart(ctx context.Context, cluster, component string) error
	Signal(ctx context.Context, cluster, component string, sig syscall.Signal) error
}

// clusterComponents are the cluster processes that serve a target for
// systems without hops of their own (vanilla Kubernetes).
var clusterComponents = map[Target]string{
	Deployment: "kube-controller-manager",
	ReplicaSet: "kube-controller-manager",
	Scheduler:  "kube-scheduler",
	NodeAgent:  "nodeagent",
	APIServer:  "kube-apiserver",
}

// ProviderCannot is a fault the cluster's provider cannot inject, as
// opposed to one the system lacks (recorded as skipped): a run refuses it
// before it starts.
type ProviderCannot struct{ error }

func (p ProviderCannot) Unwrap() error { return p.error }

func providerName(prov any) string {
	if p, ok := prov.(interface{ Name() string }); ok {
		return p.Name()
	}
	return "cluster"
}

// injector returns the fault of case c on a system (sys: the system under
// test; prov: the cluster's provider; cluster: its name), or why the system
// has no such fault. Kubedirect hops fail through the system's hooks; the
// API server and, for vanilla Kubernetes, the controllers and scheduler
// through the provider.
func injector(sys any, prov any, cluster string, c Case) (fault.Injector, error) {
	if c.Kind == None {
		return fault.Funcs{Name: "no fault"}, nil
	}
	hops, hasHops := sys.(hopProcesses)
	// kd's node agent is the cluster's (in direct mode): the provider crashes
	// and stalls it, as for vanilla Kubernetes; only the link into it is kd's.
	if hasHops && c.Target != APIServer && !(c.Target == NodeAgent && c.Kind != Cut) {
		proc := "kd-" + string(c.Target)
		switch {
		case c.Target == Autoscaler && c.Kind == Cut:
			return nil, fmt.Errorf("%s: no link leads into the autoscaler (cut the deployment target for autoscaler→deployment)", c.System)
		case c.Target == Autoscaler && c.Kind != Crash:
			return nil, fmt.Errorf("%s: the autoscaler hop runs inside kdbench; it has no process to %s", c.System, c.Kind)
		case c.Kind == Crash:
			return fault.Funcs{Name: "crash " + proc, InjectFunc: func(ctx context.Context) error { return hops.Restart(ctx, proc) }}, nil
		case c.Kind == Stall:
			return &fault.Stall{Target: proc, Signal: func(ctx context.Context, sig syscall.Signal) error { return hops.Signal(ctx, proc, sig) }}, nil
		case c.Kind == Cut:
			p := hops.Link(string(c.Target))
			if p == nil {
				return nil, fmt.Errorf("%s: the link into %s has no fault proxy (LinkProxies off)", c.System, c.Target)
			}
			return &fault.LinkCut{Link: "→" + string(c.Target), Proxy: p}, nil
		}
		return nil, fmt.Errorf("%s: unknown fault kind %q", c.System, c.Kind)
	}
	if c.Kind == Cut {
		return nil, fmt.Errorf("%s: no Kubedirect links to cut", c.System)
	}
	comp, ok := clusterComponents[c.Target]
	if !ok {
		return nil, fmt.Errorf("%s: the %s writes scales through the API server; it has no process to %s", c.System, c.Target, c.Kind)
	}
	rs, ok := prov.(componentRestarter)
	if !ok {
		return nil, ProviderCannot{fmt.Errorf("%s: the %s provider cannot restart or stop %s: it does not run the cluster's components (drop the %s target, or run on the local provider)", c.System, providerName(prov), comp, c.Target)}
	}
	if c.Kind == Stall {
		return &fault.Stall{Target: comp, Signal: func(ctx context.Context, sig syscall.Signal) error { return rs.Signal(ctx, cluster, comp, sig) }}, nil
	}
	return fault.Funcs{Name: "crash " + comp, InjectFunc: func(ctx context.Context) error { return rs.Restart(ctx, cluster, comp) }}, nil
}
