package failover

import (
	"context"
	"fmt"
	"syscall"

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
	if hasHops && c.Target != APIServer {
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
		return nil, fmt.Errorf("%s: the cluster provider cannot restart or stop %s", c.System, comp)
	}
	if c.Kind == Stall {
		return &fault.Stall{Target: comp, Signal: func(ctx context.Context, sig syscall.Signal) error { return rs.Signal(ctx, cluster, comp, sig) }}, nil
	}
	return fault.Funcs{Name: "crash " + comp, InjectFunc: func(ctx context.Context) error { return rs.Restart(ctx, cluster, comp) }}, nil
}
