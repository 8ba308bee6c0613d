package timeline_test

import (
	"context"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/selfcheck"
	"github.com/kdbench/kdbench/collectors/timeline"
)

func function(ns, name string) *appsv1.Deployment {
	lbl := map[string]string{timeline.FunctionLabel: name}
	zero, grace := int32(0), int64(5)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{Name: "fn", Image: "alpine:3.20", Command: []string{"sleep", "infinity"}}}},
			},
		},
	}
}

func scale(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, n int32) {
	_, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// TestBurstOnLocalCluster follows a real 20-pod burst and its scale-down on
// a 5-node local cluster: every pod gets every milestone from the watch,
// none through a relist, and the self-checks can all be computed.
func TestBurstOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const delay = 100 * time.Millisecond
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "timeline-it", Nodes: 5, SandboxDelay: delay})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Down(context.Background(), "timeline-it") })
	rc := *c.REST
	rc.QPS, rc.Burst = 1000, 2000
	cs, err := kubernetes.NewForConfig(&rc)
	require.NoError(t, err)

	const ns, fn, n = "it", "fn-0", 20
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, function(ns, fn), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		l, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 1
	}, time.Minute, 20*time.Millisecond, "the deployment controller made no ReplicaSet")

	sel := labels.SelectorFromSet(labels.Set{timeline.FunctionLabel: fn})
	col := timeline.New(cs, ns, sel, clock.RealClock{})
	require.NoError(t, col.Start(ctx))
	defer col.Stop()
	throttle := selfcheck.StartThrottleWindow()
	start := time.Now()
	require.NoError(t, col.MarkBurstStart(start, map[string]int32{fn: n}))
	scale(ctx, t, cs, ns, fn, n)
	require.NoError(t, col.WaitReady(ctx, n, nil))

	id := results.RepID{System: "k8s", Size: n}
	recs := col.Records(id, "scale-pods")
	require.Len(t, recs, n)
	nodes := map[string]bool{}
	for _, r := range recs {
		require.Equal(t, fn, r.Function)
		require.Equal(t, start.UnixNano(), r.BurstStart)
		require.NotEmpty(t, r.Node, "pod %s has no node", r.Pod)
		nodes[r.Node] = true
		// Milestones of one pod come in one watch stream, so in order; the
		// ReplicaSet's come in another, so only after the start.
		require.Greater(t, r.RSScaled, r.BurstStart, r.Pod)
		chain := []int64{r.BurstStart, r.Created, r.Scheduled, r.Running, r.Ready}
		for i := 1; i < len(chain); i++ {
			require.NotZero(t, chain[i], "pod %s milestone %d unseen: %+v", r.Pod, i, r)
			require.GreaterOrEqual(t, chain[i], chain[i-1], "pod %s milestone %d before %d: %+v", r.Pod, i, i-1, r)
		}
		require.GreaterOrEqual(t, r.Bound, r.Created, r.Pod)
		require.LessOrEqual(t, r.Bound, r.Running, r.Pod)
		require.Zero(t, r.Deleted)
	}
	require.Len(t, nodes, 5, "the scheduler spreads 20 pods over the 5 nodes")
	fns := col.Functions()
	require.Len(t, fns, 1)
	require.NotZero(t, fns[0].DeploymentScaled)
	require.Equal(t, n, fns[0].Ready)

	st := col.Stats()
	require.Zero(t, st.Pods.Relists, "%+v", st)
	require.Zero(t, st.ReadyFromList, "%+v", st)

	checks := []results.SelfCheck{throttle.Check(id)}
	dropped := selfcheck.Dropped(ctx, cs, ns, col, id)
	require.Len(t, dropped, 1)
	require.Zero(t, dropped[0].Value, dropped[0].Detail)
	checks = append(checks, dropped...)
	timings, err := selfcheck.FetchNodeAgentTimings(ctx, c.Endpoints["nodeagent"], start)
	require.NoError(t, err)
	require.Len(t, timings, n)
	watchLag := selfcheck.WatchLag(id, recs, timings)
	require.Len(t, watchLag, 1)
	require.Contains(t, watchLag[0].Detail, "over 20 of 20 Ready pods")
	agentLag := selfcheck.NodeAgentLag(id, timings, c.SandboxDelay)
	require.Len(t, agentLag, 1)
	checks = append(append(checks, watchLag...), agentLag...)
	for _, ch := range checks {
		t.Log(ch) // verdicts depend on the machine's load; the values are the point
	}

	scale(ctx, t, cs, ns, fn, 0)
	require.NoError(t, col.WaitGone(ctx))
	for _, r := range col.Records(id, "scale-pods") {
		require.GreaterOrEqual(t, r.Deleted, r.Ready, "pod %s deleted before Ready?", r.Pod)
	}
}
