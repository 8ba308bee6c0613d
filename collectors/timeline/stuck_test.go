package timeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestWhereStuck: a burst that times out names where its pods wait, with
// the nodes of a lost host NotReady, so the host is named by its nodes.
func TestWhereStuck(t *testing.T) {
	pod := func(name, node string, ready bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		return p
	}
	node := func(name string, ready corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: ready, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.",
			LastHeartbeatTime: metav1.NewTime(time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC)),
		}}}}
	}
	cs := fake.NewClientset(node("w1-0", corev1.ConditionTrue), node("w2-0", corev1.ConditionUnknown), node("w2-1", corev1.ConditionUnknown))
	var many []*corev1.Pod
	for i := range 7 {
		many = append(many, pod(fmt.Sprintf("m%d", i), fmt.Sprintf("n%d", i), false))
	}
	for _, tc := range []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"all Ready", []*corev1.Pod{pod("a", "w1-0", true)}, ""},
		{"a lost host", []*corev1.Pod{
			pod("a", "w1-0", true), pod("b", "w2-0", false), pod("c", "w2-0", false), pod("d", "w2-1", false), pod("e", "", false), pod("f", "w1-0", false),
		}, "waiting: 1 unscheduled; 4 bound, not Ready (w2-0 2 [node NotReady: NodeStatusUnknown: Kubelet stopped posting node status., last heartbeat 2026-12-05T11:00:00Z], " +
			"w1-0 1, w2-1 1 [node NotReady: NodeStatusUnknown: Kubelet stopped posting node status., last heartbeat 2026-12-05T11:00:00Z])"},
		{"many nodes", many, "waiting: 7 bound, not Ready (n0 1 [node: nodes \"n0\" not found], n1 1 [node: nodes \"n1\" not found], n2 1 [node: nodes \"n2\" not found], n3 1 [node: nodes \"n3\" not found], n4 1 [node: nodes \"n4\" not found], 2 more nodes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, whereStuck(context.Background(), tc.pods, cs))
		})
	}
	assert.Equal(t, "waiting: 1 unscheduled", whereStuck(context.Background(), []*corev1.Pod{pod("x", "", false)}, nil))
}
