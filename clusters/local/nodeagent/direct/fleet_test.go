package direct

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/kubedirect/egress"
)

// TestOneFleet: an agent in direct mode still serves API-mode pods on the
// same nodes, annotates its nodes with its link's address, and leaves to
// the link the managed pods a scheduler bound through the API server.
func TestOneFleet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api := slowAPI(0)
	src, err := New(api, Config{Listen: "127.0.0.1:0", NodePrefix: nodeagent.DefaultNamePrefix})
	require.NoError(t, err)
	agent, err := nodeagent.New(api, nodeagent.Config{Nodes: 2, DirectAddress: "10.0.0.9:7000"}, nodeagent.WithPodSource(src))
	require.NoError(t, err)
	go func() { _ = agent.Run(ctx) }()
	require.NoError(t, agent.WaitForNodes(ctx))

	nodes, err := api.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, nodes.Items, 2)
	for _, n := range nodes.Items {
		require.Equal(t, "10.0.0.9:7000", n.Annotations[egress.AgentAnnotation], "node %s", n.Name)
	}

	pod := func(name string, managed bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: corev1.PodSpec{NodeName: "kd-node-0", Containers: []corev1.Container{{Name: "c", Image: "alpine"}}}}
		if managed {
			p.Labels = map[string]string{egress.ManagedLabel: "true"}
		}
		return p
	}
	_, err = api.CoreV1().Pods("ns").Create(ctx, pod("managed-via-api", true), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = api.CoreV1().Pods("ns").Create(ctx, pod("plain", false), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		p, err := api.CoreV1().Pods("ns").Get(ctx, "plain", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	}, 10*time.Second, 5*time.Millisecond, "the API-mode pod runs")
	// The informer delivers in order: the managed pod was seen before plain.
	p, err := api.CoreV1().Pods("ns").Get(ctx, "managed-via-api", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.PodPhase(""), p.Status.Phase, "a managed pod bound through the API server is the link's, not started")
	for _, tp := range agent.Pods() {
		require.NotEqual(t, "managed-via-api", tp.Name, "tracked by the API-mode path")
	}
}
