package kd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/kubedirect/egress"
)

type testCluster struct {
	env  baselines.Env
	cs   kubernetes.Interface
	prov *local.Provider
}

// kcmArgs is the running controller-manager's command line.
func (tc *testCluster) kcmArgs(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", tc.prov.PID(tc.env.Cluster.Name, kcmComponent)))
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func upCluster(t testing.TB, ctx context.Context, sys *System, nodes int) *testCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	bin := localtest.Binary(t)
	if sys.Bin == "" {
		// Not the default (the running executable): that is this test
		// binary, which would run these tests again instead of the hops.
		sys.Bin = bin
	}
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, sys.Cluster(clusters.Spec{Name: "kd", Nodes: nodes}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Down(context.Background(), "kd") })
	rc := *c.REST
	rc.QPS, rc.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(&rc)
	require.NoError(t, err)
	env := baselines.Env{Cluster: c, Client: cs, Logf: t.Logf}
	if sys.name != "" {
		require.NoError(t, sys.Prepare(ctx, env))
		t.Cleanup(func() { _ = sys.Teardown(context.Background(), env) })
	}
	return &testCluster{env: env, cs: cs, prov: p}
}

// deployment is a sleeping workload like the burst runner's.
func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "fn", Image: "alpine:3.20", Command: []string{"sleep", "infinity"}}}},
			},
		},
	}
}

func managedDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	d := deployment(ns, name, replicas)
	Manage(d)
	return d
}

func (tc *testCluster) namespace(t testing.TB, ctx context.Context, ns string) {
	t.Helper()
	_, err := tc.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitPods waits until the namespace has exactly want pods, all Ready.
func (tc *testCluster) waitPods(t testing.TB, ctx context.Context, ns string, want int) {
	t.Helper()
	var last string
	ok := func() bool {
		pods, err := tc.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false
		}
		ready := 0
		for i := range pods.Items {
			if podReady(&pods.Items[i]) && pods.Items[i].DeletionTimestamp == nil {
				ready++
			}
		}
		last = fmt.Sprintf("%d pods, %d Ready", len(pods.Items), ready)
		return len(pods.Items) == want && ready == want
	}
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d Ready pods in %s: %s", want, ns, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestKdScalesManagedAndUnmanaged: a managed Deployment 0 → 100 → 0 over
// the links with every pod visible and Ready in the API server, then gone;
// an ordinary Deployment on the same cluster through the API server.
func TestKdScalesManagedAndUnmanaged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sys := New("kd", 0, "")
	tc := upCluster(t, ctx, sys, 10)

	const ns = "kd-it"
	tc.namespace(t, ctx, ns)
	_, err := tc.cs.AppsV1().Deployments(ns).Create(ctx, managedDeployment(ns, "fn", 0), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		rs, err := tc.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(rs.Items) == 1
	}, time.Minute, 50*time.Millisecond, "kd's deployment controller creates the ReplicaSet")

	start := time.Now()
	require.NoError(t, sys.Scale(ctx, tc.env, ns, "fn", 100))
	tc.waitPods(t, ctx, ns, 100)
	t.Logf("0 → 100 managed pods Ready in the API server after %s", time.Since(start).Round(time.Millisecond))
	pods, err := tc.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	own := tc.agentNodes(t, ctx)
	for _, p := range pods.Items {
		require.Contains(t, own, p.Spec.NodeName, "%s runs on one of the cluster's own nodes, served by its agent in direct mode", p.Name)
		require.NotEmpty(t, own[p.Spec.NodeName], "node %s of %s names its agent (%s)", p.Spec.NodeName, p.Name, egress.AgentAnnotation)
		require.NotEmpty(t, p.Status.PodIP, p.Name)
	}
	require.Len(t, own, 10, "kd added no nodes of its own")

	require.NoError(t, sys.Scale(ctx, tc.env, ns, "fn", 0))
	tc.waitPods(t, ctx, ns, 0)

	const plain = "plain"
	tc.namespace(t, ctx, plain)
	_, err = tc.cs.AppsV1().Deployments(plain).Create(ctx, deployment(plain, "web", 3), metav1.CreateOptions{})
	require.NoError(t, err)
	tc.waitPods(t, ctx, plain, 3)

	require.Contains(t, tc.kcmArgs(t), kcmWithout, "kd runs the controller-manager without the controllers it replaces")
	require.NoError(t, sys.Teardown(ctx, tc.env))
	require.NotContains(t, tc.kcmArgs(t), "--controllers=", "teardown restores the controller-manager")
	for n, agent := range tc.agentNodes(t, ctx) {
		require.Empty(t, agent, "teardown restores the node agent to API mode, which removes %s from node %s", egress.AgentAnnotation, n)
	}
}

// agentNodes maps the cluster's nodes to their kubedirect.io/agent
// annotation ("" without).
func (tc *testCluster) agentNodes(t testing.TB, ctx context.Context) map[string]string {
	t.Helper()
	nodes, err := tc.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	out := map[string]string{}
	for _, n := range nodes.Items {
		out[n.Name] = n.Annotations[egress.AgentAnnotation]
	}
	return out
}

// TestKdPlusKillReplicaSetMidBurst: kd+ (200 ms sandboxes) scales 0 → 600
// while the ReplicaSet controller process is killed and restarted empty
// mid-burst; the chain resyncs and converges to exactly 600 Ready pods, then
// to none.
func TestKdPlusKillReplicaSetMidBurst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sys := New("kd+", PlusSandboxDelay, "")
	tc := upCluster(t, ctx, sys, 20)
	const ns = "kd-kill"
	tc.namespace(t, ctx, ns)
	_, err := tc.cs.AppsV1().Deployments(ns).Create(ctx, managedDeployment(ns, "fn", 0), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		rs, err := tc.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(rs.Items) == 1
	}, time.Minute, 50*time.Millisecond)

	start := time.Now()
	require.NoError(t, sys.Scale(ctx, tc.env, ns, "fn", 600))
	require.Eventually(t, func() bool {
		pods, err := tc.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) >= 50
	}, time.Minute, 10*time.Millisecond, "the burst is under way")
	require.NoError(t, sys.Restart(ctx, "kd-replicaset"))
	tc.waitPods(t, ctx, ns, 600)
	t.Logf("0 → 600 Ready with a ReplicaSet controller crash after %s", time.Since(start).Round(time.Millisecond))

	require.NoError(t, sys.Scale(ctx, tc.env, ns, "fn", 0))
	tc.waitPods(t, ctx, ns, 0)
}

// BenchmarkScalePods measures one 0 → N burst (client-observed time until
// all N pods are Ready in the API server, default QPS profile, 80 nodes) on
// vanilla Kubernetes (scale subresource, cluster controllers) and on kd
// (scale over the autoscaler link).
func BenchmarkScalePods(b *testing.B) {
	for _, n := range []int32{100, 600} {
		for _, name := range []string{"k8s", "kd"} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				sys := New("", 0, "")
				if name == "kd" {
					sys = New("kd", 0, "")
				}
				tc := upCluster(b, ctx, sys, 80)
				for i := 0; i < b.N; i++ {
					ns := fmt.Sprintf("bench-%d", i)
					tc.namespace(b, ctx, ns)
					d := deployment(ns, "fn", 0)
					if name == "kd" {
						Manage(d)
					}
					_, err := tc.cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
					require.NoError(b, err)
					require.Eventually(b, func() bool {
						rs, err := tc.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
						return err == nil && len(rs.Items) == 1
					}, time.Minute, 20*time.Millisecond)
					time.Sleep(2 * time.Second) // quiet cluster, as the burst runner's settle
					start := time.Now()
					if name == "kd" {
						require.NoError(b, sys.Scale(ctx, tc.env, ns, "fn", n))
					} else {
						_, err = tc.cs.AppsV1().Deployments(ns).UpdateScale(ctx, "fn", &autoscalingv1.Scale{
							ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}, metav1.UpdateOptions{})
						require.NoError(b, err)
					}
					tc.waitPods(b, ctx, ns, int(n))
					b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/burst")
				}
			})
		}
	}
}
