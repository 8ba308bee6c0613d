package cloudlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
)

func TestCheckFromTheInventory(t *testing.T) {
	var hosts strings.Builder
	for i := range 4 {
		fmt.Fprintf(&hosts, "%s alice@hp%03d.utah.cloudlab.us 10.10.1.%d\n", NodeName(i), 101+i, i+1)
	}
	inv := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(inv, []byte(hosts.String()), 0o644))
	p := New(Options{Root: t.TempDir(), Inventory: inv})
	require.False(t, clusters.CreatesClusters(p), "cloudlab has the machines of its experiment")
	for _, tc := range []struct {
		name        string
		spec        clusters.Spec
		wantProfile string
		want        []string
	}{
		{"k8s, profile defaulted", clusters.Spec{Name: "lab"}, "default", nil},
		{"tuned", clusters.Spec{Name: "lab", QPSProfile: "tuned"}, "tuned", nil},
		{"unknown profile", clusters.Spec{Name: "lab", QPSProfile: "fast"}, "fast", []string{`QPS profile: "fast" is not a profile the bootstrap knows`}},
		{"k8s+", clusters.Spec{Name: "lab", SandboxDelay: 200 * time.Millisecond}, "default",
			[]string{"sandbox delay: 200ms asked for, but the 3 workers of cloudlab cluster lab run kubeadm's kubelet with real containers"}},
		{"scale-nodes on the workers there are", clusters.Spec{Name: "lab", Nodes: 3, NodesExact: true}, "default", nil},
		{"scale-nodes beyond them", clusters.Spec{Name: "lab", Nodes: 500, NodesExact: true}, "default",
			[]string{"node count: the cloudlab provider cannot create nodes: cluster lab has 3 workers, the experiment asks for 500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, refused, err := p.Check(context.Background(), tc.spec)
			require.NoError(t, err)
			assert.Equal(t, tc.wantProfile, spec.QPSProfile)
			if len(tc.want) == 0 {
				assert.Empty(t, refused)
			}
			for _, w := range tc.want {
				assert.ErrorContains(t, refused, w)
			}
		})
	}
	// Without an inventory the cluster must have been bootstrapped here.
	_, _, err := New(Options{Root: t.TempDir()}).Check(context.Background(), clusters.Spec{Name: "lab"})
	require.ErrorContains(t, err, `cloudlab cluster "lab": no --inventory given and none recorded`)
}
