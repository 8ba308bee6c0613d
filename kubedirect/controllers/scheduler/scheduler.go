// Package scheduler runs the upstream kube-scheduler (scheduler framework,
// default plugins) as the "scheduler" Kubedirect hop: managed pending pods
// arrive from the ReplicaSet controller's link, and the KubedirectBind
// plugin sends each bound pod to its node's agent instead of writing a
// Binding to the API server.
//
// The hop links to every node agent that serves direct mode, found from the
// nodes' kubedirect.io/agent annotations as they come and go (one session
// per agent, named nodeagent@<address>), and routes a bound pod to its
// node's agent; the KubedirectAgent filter keeps managed pods off nodes
// without the annotation. Config.NodeAgent instead sends every pod to one
// agent (on the nodes NodeSelector chooses).
package scheduler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/latest"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// NodeAgent is the node agents' hop name.
const NodeAgent = "nodeagent"

// Config of the process.
type Config struct {
	Listen string // for the ReplicaSet controller's link
	// NodeAgent, if set, is the address of the one agent every bound pod
	// goes to; empty: the agents the nodes' annotations name.
	NodeAgent string
	Metrics   string
	// NodeSelector restricts the nodes it schedules onto (those whose
	// agent is on the link).
	NodeSelector string
	Parallelism  int32
	// PercentageOfNodesToScore 0 keeps the scheduler's adaptive default.
	PercentageOfNodesToScore int32
	// TLS is the hop's link identity (nil: plaintext links).
	TLS *link.Credentials
}

// Router sends every bound pod to one node agent (Config.NodeAgent); pods
// come from upstream.
var Router = hop.RouterFuncs{UpstreamFunc: adapter.IsKind(wire.KindPod), DownstreamFunc: func(r *wire.Record) string {
	if r.Kind == wire.KindPod && r.Node != "" {
		return NodeAgent
	}
	return ""
}}

// agentRouter sends each bound pod to its node's agent.
func agentRouter(a *adapter.NodeAgents) hop.Router {
	return hop.RouterFuncs{UpstreamFunc: adapter.IsKind(wire.KindPod), DownstreamFunc: a.Downstream}
}

// tails confirms tombstones of pods that were never bound: the scheduler is
// their tail.
type tails struct{}

func (tails) Reconcile(s *cache.Store, dirty []wire.Key) []wire.Record {
	var out []wire.Record
	for _, k := range dirty {
		if r, ok := s.Get(k); ok && r.Kind == wire.KindPod && r.Node == "" && r.Phase == wire.PhaseTerminating {
			r.Phase = wire.PhaseTerminated
			out = append(out, r)
		}
	}
	return out
}

func (tails) Released([]wire.Record) {}

// BindName is the Bind plugin's name.
const BindName = "KubedirectBind"

// linkBind binds pods the hop holds over the link; others go to the next
// Bind plugin (DefaultBinder, the API server).
type linkBind struct {
	store *cache.Store
	w     egress.Writer
}

func (b *linkBind) Name() string { return BindName }

func (b *linkBind) Bind(ctx context.Context, _ *framework.CycleState, p *corev1.Pod, node string) *framework.Status {
	if _, ok := b.store.Get(wire.Key{Kind: wire.KindPod, Namespace: p.Namespace, Name: p.Name}); !ok {
		return framework.NewStatus(framework.Skip)
	}
	err := b.w.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		Target: corev1.ObjectReference{Kind: "Node", Name: node}})
	if err != nil {
		return framework.AsStatus(err)
	}
	return nil
}

// Run runs the scheduler until ctx ends.
func Run(ctx context.Context, cs kubernetes.Interface, c Config, ready func(link, metrics string)) error {
	hc := adapter.HopConfig{Name: refhops.Scheduler, Upstream: refhops.ReplicaSet, Listen: c.Listen,
		Down: map[string]string{NodeAgent: c.NodeAgent}, Router: Router, Logic: tails{}, TLS: c.TLS}
	var ags *adapter.NodeAgents
	if c.NodeAgent == "" {
		// The agents known now hold back the hop's logic until they resynced,
		// as a configured peer does; later ones are linked as they appear.
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: c.NodeSelector})
		if err != nil {
			return fmt.Errorf("scheduler: listing the nodes to find their agents: %w", err)
		}
		ags = adapter.NewNodeAgents(NodeAgent)
		hc.Down, hc.Router, hc.Dynamic = ags.Seed(nodes.Items), agentRouter(ags), true
	}
	h, err := adapter.StartHop(ctx, hc)
	if err != nil {
		return err
	}
	client := adapter.NewClient(cs, egress.New(h), h.Store())
	factory := informers.NewSharedInformerFactory(client, 0)
	tmpl := &adapter.Templates{Lister: factory.Apps().V1().ReplicaSets().Lister(), Client: cs}
	// Pending unmanaged pods are the kube-scheduler's; bound ones count here.
	podLW := adapter.PodsLW(ctx, cs, h, tmpl, adapter.BoundPods)
	factory.InformerFor(&corev1.Pod{}, func(kubernetes.Interface, time.Duration) toolscache.SharedIndexInformer {
		return adapter.NewPodInformer(podLW)
	})
	factory.InformerFor(&corev1.Node{}, func(kc kubernetes.Interface, _ time.Duration) toolscache.SharedIndexInformer {
		return coreinformers.NewFilteredNodeInformer(kc, 0, toolscache.Indexers{},
			func(o *metav1.ListOptions) { o.LabelSelector = c.NodeSelector })
	})
	cfg, err := latest.Default()
	if err != nil {
		return err
	}
	prof := cfg.Profiles[0]
	prof.Plugins.Bind.Enabled = append([]config.Plugin{{Name: BindName}}, prof.Plugins.Bind.Enabled...)
	registry := frameworkruntime.Registry{BindName: func(context.Context, runtime.Object, framework.Handle) (framework.Plugin, error) {
		return &linkBind{store: h.Store(), w: egress.New(h)}, nil
	}}
	if ags != nil {
		if err := ags.Watch(ctx, factory.Core().V1().Nodes().Informer(), h, klog.FromContext(ctx)); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		prof.Plugins.Filter.Enabled = append(prof.Plugins.Filter.Enabled, config.Plugin{Name: AgentFilterName})
		registry[AgentFilterName] = newAgentFilter
	}
	broadcaster := events.NewEventBroadcasterAdapterWithContext(ctx, client)
	opts := []scheduler.Option{scheduler.WithProfiles(prof), scheduler.WithFrameworkOutOfTreeRegistry(registry),
		scheduler.WithParallelism(max(c.Parallelism, cfg.Parallelism))}
	if c.PercentageOfNodesToScore > 0 {
		opts = append(opts, scheduler.WithPercentageOfNodesToScore(&c.PercentageOfNodesToScore))
	}
	sched, err := scheduler.New(ctx, client, factory, nil, func(name string) events.EventRecorder { return broadcaster.NewRecorder(name) }, opts...)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	broadcaster.StartRecordingToSink(ctx.Done())
	factory.Start(ctx.Done())
	maddr, err := h.Serve(ctx, c.Metrics, nil)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(h.Addr, maddr)
	}
	factory.WaitForCacheSync(ctx.Done())
	if err := sched.WaitForHandlersSync(ctx); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	sched.Run(ctx)
	return nil
}
