package adapter

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Linker is what NodeAgents needs of a hop: links to agents as they come
// and go (Hop, with HopConfig.Dynamic).
type Linker interface {
	AddDownstream(ctx context.Context, peer, addr string) error
	RemoveDownstream(ctx context.Context, peer string) error
}

// NodeAgents routes each bound pod to the node agent named by its node's
// kubedirect.io/agent annotation, and keeps one link per agent as nodes
// (and so agents) appear and vanish. Each agent is a downstream peer of its
// own, <hop>@<address>, all answering to the agents' hop name.
type NodeAgents struct {
	hop    string
	mu     sync.RWMutex
	nodeAt map[string]string // node → its agent's address
	nodes  map[string]int    // agent address → nodes naming it
}

// NewNodeAgents routes to agents whose hop is named hop.
func NewNodeAgents(hop string) *NodeAgents {
	return &NodeAgents{hop: hop, nodeAt: map[string]string{}, nodes: map[string]int{}}
}

// Peer is the downstream peer name of the agent whose link is at addr.
func (a *NodeAgents) Peer(addr string) string { return a.hop + "@" + addr }

// Downstream is a hop's Router.Downstream: the peer a bound pod goes to.
func (a *NodeAgents) Downstream(r *wire.Record) string {
	if r.Kind != wire.KindPod || r.Node == "" {
		return ""
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if addr, ok := a.nodeAt[r.Node]; ok {
		return a.Peer(addr)
	}
	return ""
}

// set records that node's agent is at addr ("": none, or the node is gone)
// and returns the agent address that got its first node and the one that
// lost its last, if any.
func (a *NodeAgents) set(node, addr string) (appeared, vanished string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, had := a.nodeAt[node]
	if had && old == addr {
		return "", ""
	}
	if had {
		delete(a.nodeAt, node)
		if a.nodes[old]--; a.nodes[old] == 0 {
			delete(a.nodes, old)
			vanished = old
		}
	}
	if addr != "" {
		a.nodeAt[node] = addr
		if a.nodes[addr]++; a.nodes[addr] == 1 {
			appeared = addr
		}
	}
	return appeared, vanished
}

// Seed records the nodes known before the hop starts and returns the links
// to open from the start (peer → address, HopConfig.Down).
func (a *NodeAgents) Seed(nodes []corev1.Node) map[string]string {
	down := map[string]string{}
	for i := range nodes {
		if addr, _ := a.set(nodes[i].Name, NodeAgentOf(&nodes[i])); addr != "" {
			down[a.Peer(addr)] = addr
		}
	}
	return down
}

// NodeAgentOf is the address of the agent serving n in direct mode, or "".
func NodeAgentOf(n *corev1.Node) string { return n.Annotations[egress.AgentAnnotation] }

// Watch keeps h's links in step with the nodes inf reports. Once inf has
// synced, seeded nodes it does not hold (deleted between the list and the
// watch) are dropped too, so that a gone agent does not hold back Synced.
func (a *NodeAgents) Watch(ctx context.Context, inf toolscache.SharedIndexInformer, h Linker, logger klog.Logger) error {
	update := func(node, addr string) {
		appeared, vanished := a.set(node, addr)
		if vanished != "" {
			if err := h.RemoveDownstream(ctx, a.Peer(vanished)); err != nil && ctx.Err() == nil {
				logger.Error(err, "Closing the link to a node agent", "address", vanished)
			}
		}
		if appeared != "" {
			if err := h.AddDownstream(ctx, a.Peer(appeared), appeared); err != nil && ctx.Err() == nil {
				logger.Error(err, "Linking to a node agent", "address", appeared)
			}
		}
	}
	_, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				update(n.Name, NodeAgentOf(n))
			}
		},
		UpdateFunc: func(_, obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				update(n.Name, NodeAgentOf(n))
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				update(n.Name, "")
			}
		},
	})
	if err != nil {
		return err
	}
	go func() {
		if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			return
		}
		a.mu.RLock()
		var gone []string
		for node := range a.nodeAt {
			if _, ok, _ := inf.GetStore().GetByKey(node); !ok {
				gone = append(gone, node)
			}
		}
		a.mu.RUnlock()
		for _, node := range gone {
			update(node, "")
		}
	}()
	return nil
}
