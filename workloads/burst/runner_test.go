package burst

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/floor"
)

func TestConfigValidation(t *testing.T) {
	sys, err := baselines.Parse([]string{"k8s"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no system", Config{Shape: Shapes["scale-pods"], Reps: 1}, "no system"},
		{"zero size", Config{Shape: Shapes["scale-pods"], Systems: sys, Sizes: []int{100, 0}, Reps: 1}, "size 0: sizes must be positive"},
		{"negative size", Config{Shape: Shapes["scale-pods"], Systems: sys, Sizes: []int{-5}, Reps: 1}, "size -5"},
		{"no reps", Config{Shape: Shapes["scale-pods"], Systems: sys, Reps: 0}, "--reps 0"},
		{"negative warm-up", Config{Shape: Shapes["scale-pods"], Systems: sys, Reps: 1, Warmups: -1}, "--warmup -1"},
		{"podless system", Config{Shape: Shapes["scale-pods"], Systems: []baselines.System{sys[0], podless{sys[0]}}, Reps: 1},
			"system k8s runs no Kubernetes pods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err = baselines.Parse([]string{"k8s", "borg"})
	require.ErrorContains(t, err, `unknown system "borg"`)
	_, err = baselines.Parse([]string{"k8s", "k8s"})
	require.ErrorContains(t, err, `system "k8s" given twice`)
}

// podless is a system whose sandboxes are not pods, as dirigent's.
type podless struct{ baselines.System }

func (podless) Podless() bool { return true }

func TestGroupsShareClusters(t *testing.T) {
	sys, err := baselines.Parse([]string{"k8s", "k8s+"})
	require.NoError(t, err)
	cfg := Config{Shape: Shapes["scale-pods"], Systems: sys, Sizes: []int{100, 600}, Reps: 1,
		QPSProfiles: []string{"default", "tuned"}, Base: clusters.Spec{Name: "run", Nodes: 80}}
	require.NoError(t, cfg.validate())
	for _, creates := range []bool{true, false} {
		cfg.Provider = &fakeProvider{creates: creates}
		gs := cfg.groups()
		require.Len(t, gs, 4, "two profiles × two sandbox delays")
		for _, g := range gs {
			require.Len(t, g.jobs, 2, "both sizes share their cluster")
			require.False(t, g.spec.NodesExact, "scale-pods runs on the nodes a cluster has")
		}
		require.Equal(t, 200*time.Millisecond, gs[1].spec.SandboxDelay)
		if creates {
			require.Equal(t, "run-2", gs[1].spec.Name, "each cluster keeps its own work directory and logs")
		} else {
			require.Equal(t, "run", gs[1].spec.Name, "a provider that cannot create clusters keeps the name it was given")
		}
	}

	cfg.Shape, cfg.Sizes, cfg.QPSProfiles = Shapes["scale-nodes"], []int{500, 2000}, []string{"default"}
	gs := cfg.groups()
	require.Len(t, gs, 4, "scale-nodes needs a cluster per node count")
	require.True(t, gs[0].spec.NodesExact, "scale-nodes measures against its node count")
}

// fakeProvider checks specs as a provider that attaches to a cluster does:
// it refuses what refuse says and completes an empty QPS profile with
// profile; Up gives up (or returns up).
type fakeProvider struct {
	creates bool
	refuse  func(clusters.Spec) clusters.Refusals
	profile string
	up      *clusters.Cluster
	checked []clusters.Spec
}

func (*fakeProvider) Name() string            { return "fake" }
func (f *fakeProvider) CreatesClusters() bool { return f.creates }
func (f *fakeProvider) Check(_ context.Context, spec clusters.Spec) (clusters.Spec, clusters.Refusals, error) {
	f.checked = append(f.checked, spec)
	if spec.QPSProfile == "" {
		spec.QPSProfile = f.profile
	}
	if f.refuse == nil {
		return spec, nil, nil
	}
	return spec, f.refuse(spec), nil
}
func (f *fakeProvider) Up(_ context.Context, spec clusters.Spec) (*clusters.Cluster, error) {
	if f.up == nil {
		return nil, errors.New("fake: no cluster")
	}
	c := *f.up
	return &c, nil
}
func (*fakeProvider) Down(context.Context, string) error { return nil }
func (*fakeProvider) Status(context.Context, string) (*clusters.Status, error) {
	return nil, errors.New("fake")
}

func TestHonourOrRefuse(t *testing.T) {
	plus := func(s clusters.Spec) clusters.Refusals {
		if s.SandboxDelay > 0 {
			return clusters.Refusals{{Setting: clusters.SettingSandboxDelay, Why: "nodes are real kubelets"}}
		}
		return nil
	}
	sys, err := baselines.Parse([]string{"k8s", "k8s+"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		prov     *fakeProvider
		profiles []string
		// want is the error's text; "" for a run that gets to Up.
		want         []string
		wantProfiles []string
	}{
		{"refused before anything starts", &fakeProvider{refuse: plus, profile: "tuned"}, []string{""},
			[]string{"k8s+ refused on the fake provider", "sandbox delay: nodes are real kubelets"}, nil},
		{"profile read from the cluster", &fakeProvider{profile: "tuned"}, []string{""}, nil, []string{"tuned"}},
		{"profile given", &fakeProvider{profile: "tuned"}, []string{"default"}, nil, []string{"default"}},
		{"cluster gave less than asked", &fakeProvider{profile: "default", up: &clusters.Cluster{Name: "run", Provider: "fake", QPSProfile: "default", REST: nil}},
			[]string{"default"}, []string{"k8s+ refused on the fake provider", "sandbox delay: asked for 200ms", "runs its pods with 0s"}, []string{"default"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := Config{Shape: Shapes["scale-pods"], Systems: sys, Sizes: []int{10}, Reps: 1, QPSProfiles: tc.profiles,
				Base: clusters.Spec{Name: "run"}, Provider: tc.prov, ResultsRoot: root}
			if tc.prov.up != nil {
				// Only the k8s+ group gets a cluster with the wrong delay.
				cfg.Systems = sys[1:]
			}
			run, err := Run(context.Background(), cfg)
			require.Error(t, err, "the fake provider brings up no usable cluster")
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			if tc.wantProfiles == nil {
				require.Nil(t, run, "a refused run creates no results directory")
				entries, rerr := os.ReadDir(root)
				require.NoError(t, rerr)
				require.Empty(t, entries)
				return
			}
			require.NotNil(t, run)
			require.Equal(t, tc.wantProfiles, run.Manifest().QPSProfiles)
			for _, s := range tc.prov.checked {
				require.Equal(t, tc.profiles[0], s.QPSProfile, "the provider sees the profile the user gave")
			}
		})
	}
}

// TestScalePodsProducesCompleteResults is the [bursts] issue's integration
// run: scale-pods 100 for k8s and k8s+ on the local cluster.
func TestScalePodsProducesCompleteResults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real clusters")
	}
	sys, err := baselines.Parse([]string{"k8s", "k8s+"})
	require.NoError(t, err)
	root := t.TempDir()
	var log strings.Builder
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run, err := Run(ctx, Config{
		Shape: Shapes["scale-pods"], Systems: sys, Sizes: []int{100}, Reps: 1,
		Base:        clusters.Spec{Name: "burst-it", Nodes: 20},
		Provider:    local.New(local.Options{Root: filepath.Join(root, "home"), Self: bin, Attached: true}),
		ResultsRoot: filepath.Join(root, "results"), Log: &log,
		Floor: true, FloorConcurrency: []int{8, 32},
	})
	require.NoError(t, err, log.String())

	r, err := results.Open(run.Dir)
	require.NoError(t, err)
	m := r.Manifest()
	require.Equal(t, results.RunComplete, m.Status)
	require.Len(t, m.Clusters, 2)
	require.Equal(t, "200ms", m.Clusters[1].SandboxDelay)
	require.Equal(t, "v1.32.13", m.Clusters[0].Components["kube-apiserver"])
	all, err := r.Pods()
	require.NoError(t, err)
	// The floor is measured once per QPS profile and size (on the first
	// cluster), three times, beside the two systems' 100 pods each.
	var pods []results.PodRecord
	floorPods := 0
	for _, p := range all {
		if p.System == floor.System {
			floorPods++
			require.NotZero(t, p.Ready, p.Pod)
			continue
		}
		pods = append(pods, p)
	}
	require.Equal(t, 300, floorPods)
	require.Contains(t, m.Params, "floorConcurrency/default")
	require.Contains(t, m.Systems, floor.System)
	require.Len(t, pods, 200)
	for _, p := range pods {
		require.NotZero(t, p.Ready, "%s/%s never Ready", p.System, p.Pod)
		require.NotZero(t, p.Bound, p.Pod)
		require.GreaterOrEqual(t, p.Ready, p.BurstStart)
		if p.System == "k8s+" {
			// The harness sees the binding a little after the node agent does,
			// so allow some of the 200 ms to have passed before it looks.
			require.GreaterOrEqual(t, p.Ready-p.Bound, int64(150*time.Millisecond), "k8s+ pods wait for the sandbox delay")
		}
	}
	sum, err := r.Summary()
	require.NoError(t, err)
	require.NotEmpty(t, sum.DataItems)
	names := map[string]bool{}
	for _, c := range r.SelfChecks() {
		names[c.Name] = true
	}
	for _, want := range []string{results.CheckClientThrottle, results.CheckDroppedEvents, results.CheckNodeAgentLag, results.CheckWatchLag} {
		require.True(t, names[want], "self-check %s missing", want)
	}
	files, err := r.MetricsFiles()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 16, "before and after scrapes of 4 components for 2 reps")
}
