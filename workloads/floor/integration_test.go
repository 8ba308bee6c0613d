package floor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
)

// TestFloorOnLocalCluster: on a real cluster the floor creates and readies
// every pod, no node agent touches them, the fastest concurrency is picked,
// and nothing is left behind.
func TestFloorOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "floor", Nodes: 5, QPSProfile: "artifact"})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Down(context.Background(), c.Name)) }()

	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "floor"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "fn", Image: "alpine:3.20"}}}}
	cfg := Config{REST: c.REST, Namespace: "floor-it", Pods: 60, Template: tmpl}
	best, trials, err := Tune(ctx, cfg, []int{4, 16, 100})
	require.NoError(t, err)
	require.Len(t, trials, 3)
	require.Equal(t, 60, trials[2].Concurrency, "capped at the pod count")
	require.Equal(t, Best(trials), best)
	t.Logf("trials: %+v", trials)

	cfg.Concurrency, cfg.Namespace = best, "floor-it-m"
	r, err := Measure(ctx, cfg)
	require.NoError(t, err)
	require.Len(t, r.Pods, 60)
	for _, pd := range r.Pods {
		require.NotZero(t, pd.Ready, pd.Name)
		require.GreaterOrEqual(t, pd.Written, pd.Created, pd.Name)
		require.GreaterOrEqual(t, pd.Ready, r.Start.UnixNano(), pd.Name)
	}
	require.Positive(t, r.P90())
	t.Logf("60 pods: p90 %s at concurrency %d", r.P90(), best)

	cs, err := Client(c.REST)
	require.NoError(t, err)
	for _, ns := range []string{"floor-it-c4", "floor-it-c16", "floor-it-c60", "floor-it-m"} {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "namespace %s left behind: %v", ns, err)
	}
}
