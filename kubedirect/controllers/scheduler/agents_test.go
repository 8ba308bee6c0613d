package scheduler

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

func TestAgentFilter(t *testing.T) {
	for _, tt := range []struct {
		ann  map[string]string
		want framework.Code
	}{
		{map[string]string{egress.AgentAnnotation: "10.0.0.2:7000"}, framework.Success},
		{nil, framework.UnschedulableAndUnresolvable},
	} {
		ni := framework.NewNodeInfo()
		ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Annotations: tt.ann}})
		require.Equal(t, tt.want, agentFilter{}.Filter(context.Background(), nil, &corev1.Pod{}, ni).Code(), "annotations %v", tt.ann)
	}
}

// agentHop is a node agent's hop: it holds what the scheduler routes to it.
func agentHop(ctx context.Context, t *testing.T) (*hop.Runtime, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rt, err := hop.NewRuntime(hop.RuntimeConfig{
		Core: hop.Config{Name: NodeAgent, Upstream: refhops.Scheduler, Clock: func() int64 { return time.Now().UnixNano() },
			Router: hop.RouterFuncs{UpstreamFunc: func(r *wire.Record) bool { return r.Node != "" }}},
		Listener: link.ListenGRPC(ln)})
	require.NoError(t, err)
	go func() { _ = rt.Run(ctx) }()
	return rt, ln.Addr().String()
}

func agentNode(name, agent string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if agent != "" {
		n.Annotations = map[string]string{egress.AgentAnnotation: agent}
	}
	return n
}

// TestRoutesToEachNodesAgent runs the scheduler hop's routing over real
// links: each bound pod reaches the agent its node names, agents that
// appear at run time are linked, and one whose last node goes is unlinked.
func TestRoutesToEachNodesAgent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hopA, addrA := agentHop(ctx, t)
	hopB, addrB := agentHop(ctx, t)
	api := fake.NewClientset(agentNode("n0", addrA), agentNode("n1", addrB), agentNode("n2", ""))

	ags := adapter.NewNodeAgents(NodeAgent)
	nodes, err := api.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	// A node listed at start and deleted before the informer's list, whose
	// agent is gone: it must not hold back Synced.
	const ghost = "127.0.0.1:1"
	down := ags.Seed(append(nodes.Items, *agentNode("ghost", ghost)))
	require.Equal(t, map[string]string{ags.Peer(addrA): addrA, ags.Peer(addrB): addrB, ags.Peer(ghost): ghost}, down)
	h, err := adapter.StartHop(ctx, adapter.HopConfig{Name: refhops.Scheduler, Down: down, Router: agentRouter(ags), Dynamic: true})
	require.NoError(t, err)
	factory := informers.NewSharedInformerFactory(api, 0)
	require.NoError(t, ags.Watch(ctx, factory.Core().V1().Nodes().Informer(), h, klog.Background()))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	require.NoError(t, h.WaitSynced(ctx))

	pod := func(name, node string) wire.Record {
		return wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound, Namespace: "ns", Name: name, UID: name, Owner: "rs", Node: node,
			CreatedNs: time.Now().UnixNano()}
	}
	holds := func(rt *hop.Runtime, name string) bool {
		_, ok := rt.Store().Get(wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: name})
		return ok
	}
	require.NoError(t, h.Write(ctx, pod("p0", "n0"), pod("p1", "n1"), pod("p2", "n2")))
	require.Eventually(t, func() bool { return holds(hopA, "p0") && holds(hopB, "p1") }, 10*time.Second, 5*time.Millisecond)

	// An agent that appears at run time.
	hopC, addrC := agentHop(ctx, t)
	_, err = api.CoreV1().Nodes().Create(ctx, agentNode("n3", addrC), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, h.Write(ctx, pod("p3", "n3")))
	require.Eventually(t, func() bool { return holds(hopC, "p3") }, 10*time.Second, 5*time.Millisecond, "the new agent gets its pod")

	// B's only node goes: its link closes.
	linked := func(rt *hop.Runtime) bool {
		up := false
		require.NoError(t, rt.Inspect(ctx, func(c *hop.Core) { up = c.Established(refhops.Scheduler) }))
		return up
	}
	require.True(t, linked(hopB))
	require.NoError(t, api.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return !linked(hopB) }, 10*time.Second, 5*time.Millisecond, "the vanished agent's link is closed")
	require.True(t, linked(hopA) && linked(hopC), "the other agents stay linked")

	for _, rt := range []*hop.Runtime{hopA, hopB, hopC} {
		require.False(t, holds(rt, "p2"), "a pod on a node without an agent goes nowhere")
	}
	require.False(t, holds(hopA, "p1") || holds(hopB, "p0") || holds(hopA, "p3"), "each pod reaches its node's agent only")
}
