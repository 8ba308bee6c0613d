package knative

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/clusters"
)

// TestRealRefuses: kn-k8s and kn-kd run real Knative on the local cluster
// only, and need its Reconfigurer (the node agent serves Knative's pods);
// elsewhere Prepare refuses with the reason and the model to use, before
// anything is installed.
func TestRealRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster *clusters.Cluster
		want    []string
	}{
		{"kn-k8s on cloudlab", &clusters.Cluster{Name: "c", Provider: "cloudlab"}, []string{"kn-k8s runs real Knative Serving on the local cluster only", "cloudlab", "does not yet drive the cluster's own Knative", "use kn-model there"}},
		{"kn-kd on cloudlab", &clusters.Cluster{Name: "c", Provider: "cloudlab"}, []string{"kn-kd runs real Knative", "use kn-model-kd there"}},
		{"kn-k8s without a Reconfigurer", &clusters.Cluster{Name: "c", Provider: "local"}, []string{`cluster "c" cannot restart its node agent`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := baselines.Get(strings.Fields(tc.name)[0])
			require.NoError(t, err)
			err = s.Prepare(context.Background(), baselines.Env{Cluster: tc.cluster})
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			require.NoError(t, s.Teardown(context.Background(), baselines.Env{Cluster: tc.cluster}))
		})
	}
	for _, p := range []string{"existing", "cloudlab"} {
		require.ErrorContains(t, NewReal(RealKd, nil).RefuseProvider(p), "on "+p+" clusters kdbench does not yet drive")
	}
	require.NoError(t, NewReal(RealKd, nil).RefuseProvider("local"))
	_, err := NewReal(RealK8s, k8s.New("k8s", 0)).StartFrontEnd(context.Background(), baselines.Env{}, "ns", []string{"fn0"})
	require.ErrorContains(t, err, "after Prepare")
}

type recordReconf struct{ calls []string }

func (r *recordReconf) Reconfigure(_ context.Context, h clusters.Host, component string, extra []string, _ []clusters.File) error {
	r.calls = append(r.calls, h.Name+": "+component+" "+strings.Join(extra, " "))
	return nil
}

// TestKeepFlags: while kn-kd is prepared, kd's restarts of the node agent
// (direct mode, and its restore) keep the flags Knative's pods need; other
// components' pass unchanged.
func TestKeepFlags(t *testing.T) {
	r := &recordReconf{}
	k := keepFlags{inner: r, component: nodeAgent, flags: []string{"--function-sandboxes", "--pod-netns=/run/netns/p"}}
	ctx := context.Background()
	cp, w1 := clusters.Host{Name: "cp"}, clusters.Host{Name: "w1"}
	require.NoError(t, k.Reconfigure(ctx, cp, "kube-controller-manager", []string{"--controllers=*,-deployment"}, nil))
	direct := []string{"--direct-listen=127.0.0.1:0"}
	require.NoError(t, k.Reconfigure(ctx, w1, nodeAgent, direct, nil))
	require.NoError(t, k.Reconfigure(ctx, w1, nodeAgent, nil, nil))
	require.Equal(t, []string{
		"cp: kube-controller-manager --controllers=*,-deployment",
		"w1: nodeagent --direct-listen=127.0.0.1:0 --function-sandboxes --pod-netns=/run/netns/p",
		"w1: nodeagent --function-sandboxes --pod-netns=/run/netns/p",
	}, r.calls)
	require.Equal(t, []string{"--direct-listen=127.0.0.1:0"}, direct, "the caller's flags are not changed")
}
