package failover

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	_ "github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
)

// attached is a provider that attaches to a cluster (no restarts, no
// cluster creation) and completes the QPS profile, as existing does.
type attached struct{ checked []clusters.Spec }

func (*attached) Name() string { return "attached" }
func (a *attached) Check(_ context.Context, spec clusters.Spec) (clusters.Spec, clusters.Refusals, error) {
	a.checked = append(a.checked, spec)
	spec.QPSProfile = "tuned"
	if spec.SandboxDelay > 0 {
		return spec, clusters.Refusals{{Setting: clusters.SettingSandboxDelay, Why: "real kubelets"}}, nil
	}
	return spec, nil, nil
}
func (*attached) Up(context.Context, clusters.Spec) (*clusters.Cluster, error) {
	return nil, errors.New("attached: not in this test")
}
func (*attached) Down(context.Context, string) error { return nil }
func (*attached) Status(context.Context, string) (*clusters.Status, error) {
	return nil, errors.New("attached: not in this test")
}

// restarting is the same provider able to restart the cluster's components
// and to create clusters, as the local one.
type restarting struct{ attached }

func (*restarting) CrashRefusal(clusters.Spec) string { return "" }

func (*restarting) CreatesClusters() bool { return true }

// refusing attaches, and tells from the spec that it cannot crash.
type refusing struct{ attached }

func (*refusing) Name() string { return "refusing" }
func (*refusing) CrashRefusal(spec clusters.Spec) string {
	return "no hosts file beside " + spec.Name
}

func TestPreflightRefusesWhatTheProviderCannotDo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prov     clusters.Provider
		systems  []string
		targets  []Target
		kinds    []Kind
		want     []string // in the error; none: accepted
		wantName string   // the cluster name Open would use for k8s
	}{
		{"control plane targets on an attached cluster", &attached{}, []string{"k8s"}, []Target{Scheduler, ReplicaSet}, []Kind{Crash},
			[]string{"failover crash scheduler refused: k8s: the attached provider cannot restart or stop kube-scheduler", "failover crash replicaset refused: k8s: the attached provider cannot restart or stop kube-controller-manager"}, "fo"},
		{"kd's hops are kdbench's own, a fault a system lacks stays skipped", &attached{}, []string{"kd"}, []Target{ReplicaSet, Autoscaler}, []Kind{Crash, Cut}, nil, "fo"},
		{"the sandbox delay is refused as for any run", &attached{}, []string{"k8s+"}, []Target{Autoscaler}, []Kind{Crash},
			[]string{"k8s+ refused on the attached provider", "sandbox delay: real kubelets"}, "fo"},
		{"a provider that restarts components", &restarting{}, []string{"k8s"}, []Target{Scheduler}, []Kind{Crash, Stall}, nil, "fo-k8s"},
		{"a provider whose cluster of this spec cannot", &refusing{}, []string{"kd"}, []Target{NodeAgent}, []Kind{Crash},
			[]string{"failover crash nodeagent refused: kd: the refusing provider cannot restart or stop nodeagent: no hosts file beside fo"}, "fo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &ClusterExecutor{Provider: tc.prov, Base: clusters.Spec{Name: "fo", Nodes: 3}}
			cases := Plan(tc.systems, []int{10}, []Phase{Burst}, tc.targets, tc.kinds, 1)
			err := e.Preflight(context.Background(), cases)
			if len(tc.want) == 0 {
				require.NoError(t, err)
			}
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			sys, gerr := baselines.Get("k8s")
			require.NoError(t, gerr)
			assert.Equal(t, tc.wantName, e.spec(sys, nil).Name)
			if a, ok := tc.prov.(*attached); ok && err == nil {
				assert.Equal(t, "tuned", e.Base.QPSProfile, "the cluster's profile is recorded")
				require.NotEmpty(t, a.checked)
				assert.Equal(t, "", a.checked[0].QPSProfile, "the provider decides the profile none was given for")
			}
		})
	}
}

// A refused run creates no results directory.
func TestRunRefusedCreatesNothing(t *testing.T) {
	root := t.TempDir()
	e := &ClusterExecutor{Provider: &attached{}, Base: clusters.Spec{Name: "fo", Nodes: 3}}
	_, _, err := Run(context.Background(), Config{Systems: []string{"k8s"}, Sizes: []int{10}, Reps: 1,
		Targets: []Target{Scheduler}, Kinds: []Kind{Crash}, ResultsRoot: root, Executor: e})
	require.ErrorContains(t, err, "cannot restart or stop kube-scheduler")
	entries, rerr := os.ReadDir(root)
	require.NoError(t, rerr)
	assert.Empty(t, entries)
}
