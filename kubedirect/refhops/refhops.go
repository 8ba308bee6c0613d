// Package refhops is reference control logic for the five hops of the narrow
// waist, small enough to reason about: it drives the model tests, the loopback
// chain tests and the benchmarks, and shows the shape the wrapped Kubernetes
// controllers take. Names: the head is "autoscaler", then "deployment",
// "replicaset", "scheduler", and one hop per node.
package refhops

import (
	"fmt"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Hop names of the reference chain.
const (
	Autoscaler = "autoscaler"
	Deployment = "deployment"
	ReplicaSet = "replicaset"
	Scheduler  = "scheduler"
)

// Role is a hop's position on the narrow waist.
type Role int

const (
	RoleAutoscaler Role = iota
	RoleDeployment
	RoleReplicaSet
	RoleScheduler
	RoleNode
)

// Topology is a chain with nodes under one scheduler.
type Topology struct{ Nodes []string }

// Names lists every hop, head first.
func (t Topology) Names() []string {
	return append([]string{Autoscaler, Deployment, ReplicaSet, Scheduler}, t.Nodes...)
}

// Role returns the role of hop name.
func (t Topology) Role(name string) Role {
	switch name {
	case Autoscaler:
		return RoleAutoscaler
	case Deployment:
		return RoleDeployment
	case ReplicaSet:
		return RoleReplicaSet
	case Scheduler:
		return RoleScheduler
	}
	return RoleNode
}

// Config returns the hop.Config (without clock, incarnation, metrics) of name.
func (t Topology) Config(name string) hop.Config {
	cfg := hop.Config{Name: name}
	switch t.Role(name) {
	case RoleAutoscaler:
		cfg.Downstreams = []string{Deployment}
		cfg.Router = hop.RouterFuncs{DownstreamFunc: kindTo(wire.KindDeployment, Deployment)}
	case RoleDeployment:
		cfg.Upstream, cfg.Downstreams = Autoscaler, []string{ReplicaSet}
		cfg.Router = hop.RouterFuncs{UpstreamFunc: isKind(wire.KindDeployment), DownstreamFunc: kindTo(wire.KindReplicaSet, ReplicaSet)}
	case RoleReplicaSet:
		cfg.Upstream, cfg.Downstreams = Deployment, []string{Scheduler}
		cfg.Router = hop.RouterFuncs{UpstreamFunc: isKind(wire.KindReplicaSet), DownstreamFunc: kindTo(wire.KindPod, Scheduler)}
	case RoleScheduler:
		cfg.Upstream, cfg.Downstreams = ReplicaSet, append([]string(nil), t.Nodes...)
		cfg.Router = hop.RouterFuncs{UpstreamFunc: isKind(wire.KindPod), DownstreamFunc: func(r *wire.Record) string {
			if r.Kind == wire.KindPod {
				return r.Node
			}
			return ""
		}}
	case RoleNode:
		cfg.Upstream = Scheduler
		cfg.Router = hop.RouterFuncs{UpstreamFunc: func(r *wire.Record) bool { return r.Kind == wire.KindPod && r.Node == name }}
	}
	return cfg
}

func isKind(k wire.Kind) func(*wire.Record) bool {
	return func(r *wire.Record) bool { return r.Kind == k }
}

func kindTo(k wire.Kind, peer string) func(*wire.Record) string {
	return func(r *wire.Record) string {
		if r.Kind == k {
			return peer
		}
		return ""
	}
}

// DeploymentLogic keeps one ReplicaSet per Deployment (named after it) at the
// Deployment's replica count.
type DeploymentLogic struct{}

func (DeploymentLogic) Reconcile(s *cache.Store, dirty []wire.Key) []wire.Record {
	var out []wire.Record
	seen := map[wire.Key]bool{}
	for _, k := range dirty {
		if k.Kind == wire.KindReplicaSet {
			if rs, ok := s.Get(k); ok && rs.Owner != "" {
				k = wire.Key{Kind: wire.KindDeployment, Namespace: k.Namespace, Name: rs.Owner}
			}
		}
		if k.Kind != wire.KindDeployment || seen[k] {
			continue
		}
		seen[k] = true
		d, ok := s.Get(k)
		if !ok {
			continue
		}
		rs, ok := s.Get(wire.Key{Kind: wire.KindReplicaSet, Namespace: d.Namespace, Name: d.Name})
		if ok && rs.Replicas == d.Replicas && rs.Owner == d.Name && rs.Template == d.Template {
			continue
		}
		out = append(out, wire.Record{Kind: wire.KindReplicaSet, Namespace: d.Namespace, Name: d.Name,
			Owner: d.Name, Template: d.Template, Replicas: d.Replicas})
	}
	return out
}

func (DeploymentLogic) Released([]wire.Record) {}

// ReplicaSetLogic keeps each ReplicaSet's live pods at its replica count,
// creating pods with names unique to this process lifetime and tombstoning
// the surplus (pending pods first, then the newest).
type ReplicaSetLogic struct {
	Prefix string // unique per incarnation
	Clock  func() int64
	n      uint64
	// released holds owners of released pods: their records are gone, so
	// the dirty keys alone no longer lead to the owner.
	released []wire.Key
}

func (l *ReplicaSetLogic) Reconcile(s *cache.Store, dirty []wire.Key) []wire.Record {
	var out []wire.Record
	seen := map[wire.Key]bool{}
	keys := append(l.released, dirty...)
	l.released = nil
	for _, k := range keys {
		if k.Kind == wire.KindPod {
			p, ok := s.Get(k)
			if !ok || p.Owner == "" {
				continue
			}
			k = wire.Key{Kind: wire.KindReplicaSet, Namespace: k.Namespace, Name: p.Owner}
		}
		if k.Kind != wire.KindReplicaSet || seen[k] {
			continue
		}
		seen[k] = true
		rs, ok := s.Get(k)
		if !ok {
			continue
		}
		var live []wire.Record
		for _, p := range s.Owned(wire.KindPod, rs.Namespace, rs.Name) {
			if !p.Phase.Tombstoned() {
				live = append(live, p)
			}
		}
		for i := len(live); i < int(rs.Replicas); i++ {
			l.n++
			name := fmt.Sprintf("%s-%s%d", rs.Name, l.Prefix, l.n)
			out = append(out, wire.Record{Kind: wire.KindPod, Phase: wire.PhasePending, Namespace: rs.Namespace,
				Name: name, UID: l.Prefix + fmt.Sprint(l.n), Owner: rs.Name, Template: rs.Template, CreatedNs: l.Clock()})
		}
		for _, p := range victims(live, len(live)-int(rs.Replicas)) {
			p.Phase = wire.PhaseTerminating
			out = append(out, p)
		}
	}
	return out
}

func (l *ReplicaSetLogic) Released(recs []wire.Record) {
	for _, r := range recs {
		if r.Kind == wire.KindPod && r.Owner != "" {
			l.released = append(l.released, wire.Key{Kind: wire.KindReplicaSet, Namespace: r.Namespace, Name: r.Owner})
		}
	}
}

// victims picks n pods to delete: least advanced first, then newest.
func victims(live []wire.Record, n int) []wire.Record {
	if n <= 0 {
		return nil
	}
	c := append([]wire.Record(nil), live...)
	less := func(a, b wire.Record) bool {
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		if a.CreatedNs != b.CreatedNs {
			return a.CreatedNs > b.CreatedNs
		}
		return a.Name > b.Name
	}
	for i := 0; i < n; i++ { // partial selection sort; n is small
		m := i
		for j := i + 1; j < len(c); j++ {
			if less(c[j], c[m]) {
				m = j
			}
		}
		c[i], c[m] = c[m], c[i]
	}
	return c[:n]
}

// SchedulerLogic binds pending pods round-robin over its nodes and confirms
// tombstones of pods that were never bound (it is their tail).
type SchedulerLogic struct {
	Nodes []string
	next  int
}

func (l *SchedulerLogic) Reconcile(s *cache.Store, dirty []wire.Key) []wire.Record {
	var out []wire.Record
	for _, k := range dirty {
		if k.Kind != wire.KindPod {
			continue
		}
		p, ok := s.Get(k)
		if !ok || p.Node != "" {
			continue
		}
		switch p.Phase {
		case wire.PhasePending:
			if len(l.Nodes) == 0 {
				continue
			}
			p.Node = l.Nodes[l.next%len(l.Nodes)]
			l.next++
			p.Phase = wire.PhaseBound
			out = append(out, p)
		case wire.PhaseTerminating:
			p.Phase = wire.PhaseTerminated
			out = append(out, p)
		}
	}
	return out
}

func (l *SchedulerLogic) Released([]wire.Record) {}

// Preempt returns the write that preempts pod p at the scheduler.
func Preempt(p wire.Record) wire.Record {
	p.Phase = max(p.Phase, wire.PhaseTerminating)
	return p
}

// Sandboxes is a node's durable runtime state: it survives the node agent's
// restart (its records seed the restarted hop) and is the tail's truth.
type Sandboxes struct {
	Running map[string]wire.Record
	Stopped map[string]wire.Record // terminated, kept until the tombstone is released
	// OnStart and OnStop, if set, observe sandbox lifecycle (tests, collectors).
	OnStart, OnStop func(node string, r wire.Record)
}

// NewSandboxes returns empty runtime state.
func NewSandboxes() *Sandboxes {
	return &Sandboxes{Running: map[string]wire.Record{}, Stopped: map[string]wire.Record{}}
}

// Records returns the records a restarted node agent starts from.
func (b *Sandboxes) Records() []wire.Record {
	var out []wire.Record
	for _, r := range b.Running {
		out = append(out, r)
	}
	for _, r := range b.Stopped {
		out = append(out, r)
	}
	return out
}

// NodeLogic runs bound pods as sandboxes (with no sandbox delay) and executes
// tombstones, confirming them.
type NodeLogic struct {
	Node string
	Box  *Sandboxes
}

func (l *NodeLogic) Reconcile(s *cache.Store, dirty []wire.Key) []wire.Record {
	var out []wire.Record
	for _, k := range dirty {
		p, ok := s.Get(k)
		if !ok || p.Kind != wire.KindPod || p.Node != l.Node {
			continue
		}
		switch {
		case p.Phase == wire.PhaseBound:
			if _, gone := l.Box.Stopped[p.Name]; gone {
				continue
			}
			p.Phase = wire.PhaseRunning
			if _, running := l.Box.Running[p.Name]; !running {
				l.Box.Running[p.Name] = p
				if l.Box.OnStart != nil {
					l.Box.OnStart(l.Node, p)
				}
			}
			out = append(out, p)
		case p.Phase == wire.PhaseTerminating:
			p.Phase = wire.PhaseTerminated
			if _, running := l.Box.Running[p.Name]; running {
				delete(l.Box.Running, p.Name)
				if l.Box.OnStop != nil {
					l.Box.OnStop(l.Node, p)
				}
			}
			l.Box.Stopped[p.Name] = p
			out = append(out, p)
		}
	}
	return out
}

func (l *NodeLogic) Released(recs []wire.Record) {
	for _, r := range recs {
		delete(l.Box.Stopped, r.Name)
		if _, running := l.Box.Running[r.Name]; running {
			// A release for a live sandbox would be a protocol bug; stop it
			// rather than leak it, and let the test hooks see it.
			delete(l.Box.Running, r.Name)
			if l.Box.OnStop != nil {
				l.Box.OnStop(l.Node, r)
			}
		}
	}
}

// Logic returns fresh logic for hop name (box is used by nodes; prefix makes
// pod names unique per ReplicaSet hop incarnation).
func (t Topology) Logic(name string, box *Sandboxes, prefix string, clock func() int64) hop.Logic {
	switch t.Role(name) {
	case RoleDeployment:
		return DeploymentLogic{}
	case RoleReplicaSet:
		return &ReplicaSetLogic{Prefix: prefix, Clock: clock}
	case RoleScheduler:
		return &SchedulerLogic{Nodes: append([]string(nil), t.Nodes...)}
	case RoleNode:
		return &NodeLogic{Node: name, Box: box}
	}
	return nil
}
