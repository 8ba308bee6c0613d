package existing

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
)

// TestAttachToALocalCluster: the existing provider on a cluster kdbench's
// local provider started, served by its node agent at the "+" delay. The
// delay is read from the nodes; the QPS profile cannot be read (the local
// control plane runs no static pods), so it must be given.
func TestAttachToALocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lp := local.New(local.Options{Root: filepath.Join(t.TempDir(), "home"), Self: bin, Attached: true})
	lc, err := lp.Up(ctx, clusters.Spec{Name: "attach", Nodes: 3, QPSProfile: "tuned", SandboxDelay: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = lp.Down(context.Background(), lc.Name) })

	p := Provider{}
	plus := clusters.Spec{Name: "attach", Kubeconfig: lc.Kubeconfig, SandboxDelay: 200 * time.Millisecond}
	_, refused, err := p.Check(ctx, plus)
	require.NoError(t, err)
	require.Len(t, refused, 1, "only the profile: %v", refused)
	assert.ErrorContains(t, refused, "QPS profile: cannot be read: no kube-apiserver pod")

	plus.QPSProfile = "tuned"
	c, err := p.Up(ctx, plus)
	require.NoError(t, err)
	assert.Equal(t, 3, c.Nodes)
	assert.Equal(t, 200*time.Millisecond, c.SandboxDelay, "read from the agent's nodes")
	assert.Equal(t, "tuned", c.QPSProfile)
	assert.Contains(t, c.QPSProfileSource, "given by --qps-profile")
	assert.Empty(t, clusters.Verify(plus, c))

	plain := plus
	plain.SandboxDelay = 0
	_, refused, err = p.Check(ctx, plain)
	require.NoError(t, err)
	assert.ErrorContains(t, refused, "sandbox delay: 0s asked for, but the node agents of cluster attach run with 200ms")

	nodes := plus
	nodes.Nodes, nodes.NodesExact = 500, true
	_, refused, err = p.Check(ctx, nodes)
	require.NoError(t, err)
	assert.ErrorContains(t, refused, "cluster attach has 3 Ready workers, the experiment asks for 500")
}
