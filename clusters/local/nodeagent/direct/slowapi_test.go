package direct_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/clusters/local/nodeagent/direct"
	"github.com/kdbench/kdbench/internal/fault"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// histSum is the sum of a histogram's observations, in seconds.
func histSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			s := 0.0
			for _, m := range mf.GetMetric() {
				s += m.GetHistogram().GetSampleSum()
			}
			return s
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestOverlapThroughSlowAPIServer: a real API server behind a delaying
// proxy, a direct-mode agent with 200 ms sandboxes talking through it. A
// bind's arrival → Ready is max(sandbox delay, create) + status write, as
// measured by the agent's own request metrics, and well under their sum.
func TestOverlapThroughSlowAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := localtest.Binary(t)
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "overlap", Nodes: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Down(context.Background(), "overlap") })
	fast, err := kubernetes.NewForConfig(c.REST)
	require.NoError(t, err)
	u, err := url.Parse(c.REST.Host)
	require.NoError(t, err)
	px, err := fault.NewProxy("127.0.0.1:0", u.Host)
	require.NoError(t, err)
	defer px.Close()
	rc := rest.CopyConfig(c.REST)
	rc.Host, rc.QPS, rc.Burst = "https://"+px.Addr(), 1000, 2000
	slow, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)

	// The controller-manager's ReplicaSet controller would delete the pod
	// the agent creates for a ReplicaSet of 0 replicas: fence it off, as
	// kd does.
	require.NoError(t, fast.RbacV1().ClusterRoleBindings().Delete(ctx, "system:controller:replicaset-controller", metav1.DeleteOptions{}))
	const ns = "overlap"
	_, err = fast.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	managed := map[string]string{egress.ManagedLabel: "true", "app": "fn"}
	replicas := int32(0)
	_, err = fast.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fn", Labels: managed},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: managed},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: managed},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "alpine"}}}}}}, metav1.CreateOptions{})
	require.NoError(t, err)

	const delay = 200 * time.Millisecond
	reg := prometheus.NewRegistry()
	src, err := direct.New(slow, direct.Config{Listen: "127.0.0.1:0", NodePrefix: "ovl-node-", Registerer: reg})
	require.NoError(t, err)
	timings := make(chan nodeagent.PodTiming, 4)
	agent, err := nodeagent.New(slow, nodeagent.Config{Nodes: 1, NamePrefix: "ovl-node-", SandboxDelay: delay, DeleteNodesOnExit: true,
		PodCIDR: "10.0.0.0/10", NodeIPRange: "192.168.0.0/16"}, nodeagent.WithPodSource(src), nodeagent.WithRegisterer(reg),
		nodeagent.WithObserver(nodeagent.ObserverFunc(func(pt nodeagent.PodTiming) { timings <- pt; src.PodReady(pt) })))
	require.NoError(t, err)
	agentCtx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan struct{})
	go func() { defer close(agentDone); _ = agent.Run(agentCtx) }()
	defer func() { stopAgent(); <-agentDone }()
	require.NoError(t, agent.WaitForNodes(ctx))
	addr, err := src.Addr(ctx)
	require.NoError(t, err)
	sched, err := hop.NewRuntime(hop.RuntimeConfig{
		Core: hop.Config{Name: "scheduler", Downstreams: []string{direct.HopName}, LogCap: 1024,
			Router: hop.RouterFuncs{DownstreamFunc: func(r *wire.Record) string {
				if r.Node != "" {
					return direct.HopName
				}
				return ""
			}}},
		Dialer: link.NewGRPCDialer(), Addrs: map[string]string{direct.HopName: addr}})
	require.NoError(t, err)
	go func() { _ = sched.Run(ctx) }()
	require.NoError(t, sched.WaitSynced(ctx))

	// Each request now waits 2×60 ms in the proxy, plus the server's time.
	px.SetDelay(60 * time.Millisecond)
	sent := time.Now()
	require.NoError(t, sched.Write(ctx, wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound, Namespace: ns, Name: "fn-1",
		UID: "link-uid-1", Owner: "fn", Node: "ovl-node-0", CreatedNs: time.Now().UnixNano()}))
	var pt nodeagent.PodTiming
	select {
	case pt = <-timings:
	case <-time.After(time.Minute):
		t.Fatalf("the pod never turned Ready; the agent tracks %+v", agent.Pods())
	}
	// From the bind leaving the scheduler hop: the agent's own Bound could
	// hide a serial create by starting late.
	took := pt.Ready.Sub(sent)
	require.Less(t, pt.Bound.Sub(sent), 50*time.Millisecond, "the agent's timings start at link receipt")
	create := time.Duration(histSum(t, reg, "kdbench_nodeagent_direct_api_request_duration_seconds") * float64(time.Second))
	write := time.Duration(histSum(t, reg, "kdbench_nodeagent_pod_status_update_duration_seconds") * float64(time.Second))
	t.Logf("bind → Ready %s; create %s, sandbox %s, status write %s (sum %s)", took, create, delay, write, create+delay+write)
	require.Greater(t, create, 100*time.Millisecond, "the proxy slows the create")
	require.GreaterOrEqual(t, took, max(delay, create)+write-5*time.Millisecond)
	require.Less(t, took, max(delay, create)+write+80*time.Millisecond, "Ready follows the later of sandbox and create by one status write")
	require.Less(t, took, create+delay+write-create/2, "not the sum")
	px.SetDelay(0)
}
