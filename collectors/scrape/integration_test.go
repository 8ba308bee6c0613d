package scrape

import (
	"bytes"
	"context"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/collectors/results"
)

// TestScrapeLocalCluster scrapes every component of a real 5-node local
// cluster: each answers with Prometheus text holding its sentinel metrics.
func TestScrapeLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "scrape-it", Nodes: 5})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Down(context.Background(), "scrape-it") })

	got, err := Scrape(ctx, c)
	require.NoError(t, err)
	sentinels := map[string][]string{
		"kube-apiserver":          {"apiserver_request_total", "apiserver_request_duration_seconds"},
		"kube-controller-manager": {"workqueue_depth", "workqueue_adds_total"},
		"kube-scheduler":          {"scheduler_pending_pods", "workqueue_depth"},
		"nodeagent":               {"kdbench_nodeagent_pod_ready_lag_seconds"},
	}
	require.Len(t, got, len(sentinels))
	for name, want := range sentinels {
		fams, err := new(expfmt.TextParser).TextToMetricFamilies(bytes.NewReader(got[name]))
		require.NoError(t, err, "%s does not serve Prometheus text", name)
		for _, m := range want {
			require.Contains(t, fams, m, name)
		}
	}

	run, err := results.Create(t.TempDir(), results.Manifest{Experiment: "scale-pods", Systems: []string{"k8s"}, Sizes: []int{5}, Reps: 1})
	require.NoError(t, err)
	require.NoError(t, ScrapeInto(ctx, run, results.RepID{System: "k8s", Size: 5}, After, c))
	files, err := run.MetricsFiles()
	require.NoError(t, err)
	require.Len(t, files, len(sentinels))
	for _, f := range files {
		require.Regexp(t, `k8s_5_rep0_after_(kube-apiserver|kube-controller-manager|kube-scheduler|nodeagent)\.prom$`, f)
	}
}
