package failover

import (
	"context"
	"fmt"
	"syscall"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
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

// crashRefuser is a provider that tells, before the cluster of spec is up,
// why it cannot crash or stall the cluster's own components ("" when it
// can: the cluster it gives then has a Crasher).
type crashRefuser interface {
	CrashRefusal(spec clusters.Spec) string
}

// site is where a case's cluster faults come from: the cluster once it is
// up; before that (preflight) only the spec it will be made from.
type site struct {
	cluster *clusters.Cluster
	spec    clusters.Spec
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
// test; prov: the cluster's provider; at: the cluster, or before it is up
// its spec, when only whether the fault can be had is asked), or why the
// system has no such fault. Kubedirect hops fail through the system's
// hooks; the API server and, for vanilla Kubernetes, the controllers and
// scheduler through the cluster's Crasher, as does every system's node
// agent (on the first worker host where there are several).
func injector(sys any, prov any, at site, c Case) (fault.Injector, error) {
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
	cannot := func(why string) error {
		return ProviderCannot{fmt.Errorf("%s: the %s provider cannot restart or stop %s: %s (drop the %s target, or run on the local provider or a cloudlab --control-plane processes cluster)", c.System, providerName(prov), comp, why, c.Target)}
	}
	cluster := at.cluster
	if cluster == nil {
		r, ok := prov.(crashRefuser)
		if !ok {
			return nil, cannot("it does not run the cluster's components")
		}
		if why := r.CrashRefusal(at.spec); why != "" {
			return nil, cannot(why)
		}
		return nil, nil
	}
	if cluster.Crasher == nil {
		return nil, cannot("it does not run the cluster's components")
	}
	host, err := componentHost(cluster, comp)
	if err != nil {
		return nil, cannot(err.Error())
	}
	cr, name := cluster.Crasher, comp
	if len(cluster.Placer.Hosts()) > 1 {
		name += " on " + host.Name
	}
	if c.Kind == Stall {
		return &fault.Stall{Target: name, Signal: func(ctx context.Context, sig syscall.Signal) error { return cr.Signal(ctx, host, comp, sig) }}, nil
	}
	return fault.Funcs{Name: "crash " + name, InjectFunc: func(ctx context.Context) error { return cr.Crash(ctx, host, comp) }}, nil
}

// componentHost is where the cluster runs comp: the node agent on the first
// worker host, the rest on the control-plane host.
func componentHost(c *clusters.Cluster, comp string) (clusters.Host, error) {
	if c.Placer == nil {
		return clusters.Host{}, fmt.Errorf("cluster %s has no inventory of its hosts", c.Name)
	}
	if comp == clusterComponents[NodeAgent] {
		ws := clusters.HostsWith(c.Placer, clusters.RoleWorker)
		if len(ws) == 0 {
			return clusters.Host{}, fmt.Errorf("cluster %s has no %s host", c.Name, clusters.RoleWorker)
		}
		return ws[0], nil
	}
	return clusters.ControlPlaneHost(c.Placer)
}
