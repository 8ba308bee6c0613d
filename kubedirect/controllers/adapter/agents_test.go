package adapter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

func TestNodeAgentsSet(t *testing.T) {
	a := NewNodeAgents("nodeagent")
	steps := []struct {
		node, addr          string
		appeared, vanished  string
		routeNode, wantPeer string
	}{
		{"n0", "A", "A", "", "n0", "nodeagent@A"},
		{"n1", "A", "", "", "n1", "nodeagent@A"},
		{"n1", "A", "", "", "n1", "nodeagent@A"}, // unchanged
		{"n2", "", "", "", "n2", ""},             // no agent: no route
		{"n0", "B", "B", "", "n0", "nodeagent@B"},
		{"n1", "", "", "A", "n1", ""}, // A's last node lost its annotation
		{"n0", "", "", "B", "n0", ""}, // deleted
	}
	for i, s := range steps {
		appeared, vanished := a.set(s.node, s.addr)
		require.Equal(t, s.appeared, appeared, "step %d: appeared", i)
		require.Equal(t, s.vanished, vanished, "step %d: vanished", i)
		require.Equal(t, s.wantPeer, a.Downstream(&wire.Record{Kind: wire.KindPod, Node: s.routeNode}), "step %d: route", i)
	}
	require.Empty(t, a.Downstream(&wire.Record{Kind: wire.KindPod}), "unbound pods stay")
}
