package timeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// stuckNodes is how many nodes a stuck burst names, most waiting pods first.
const stuckNodes = 5

// whereStuck says where the pods not yet Ready wait: unscheduled, or bound
// to which nodes, each with its Ready condition when it is not Ready. A lost
// worker host shows as its nodes (named after it) NotReady, which a bare
// count would hide; nodes is nil in tests without a node API.
func whereStuck(ctx context.Context, pods []*corev1.Pod, nodes kubernetes.Interface) string {
	unscheduled := 0
	byNode := map[string]int{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || conditionTrue(p, corev1.PodReady) {
			continue
		}
		if p.Spec.NodeName == "" {
			unscheduled++
		} else {
			byNode[p.Spec.NodeName]++
		}
	}
	if unscheduled == 0 && len(byNode) == 0 {
		return ""
	}
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if byNode[names[i]] != byNode[names[j]] {
			return byNode[names[i]] > byNode[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	if unscheduled > 0 {
		parts = append(parts, fmt.Sprintf("%d unscheduled", unscheduled))
	}
	bound := 0
	for _, n := range byNode {
		bound += n
	}
	if bound > 0 {
		var on []string
		for _, n := range names[:min(len(names), stuckNodes)] {
			on = append(on, fmt.Sprintf("%s %d%s", n, byNode[n], nodeState(ctx, nodes, n)))
		}
		if len(names) > stuckNodes {
			on = append(on, fmt.Sprintf("%d more nodes", len(names)-stuckNodes))
		}
		parts = append(parts, fmt.Sprintf("%d bound, not Ready (%s)", bound, strings.Join(on, ", ")))
	}
	return "waiting: " + strings.Join(parts, "; ")
}

// nodeState is ", node NotReady: <why>" for a node that is not Ready, ""
// for a Ready one or when it cannot be read.
func nodeState(ctx context.Context, cs kubernetes.Interface, name string) string {
	if cs == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf(" [node: %v]", err)
	}
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		why := c.Reason
		if c.Message != "" {
			why += ": " + c.Message
		}
		if !c.LastHeartbeatTime.IsZero() {
			why += fmt.Sprintf(", last heartbeat %s", c.LastHeartbeatTime.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf(" [node NotReady: %s]", why)
	}
	return " [node has no Ready condition]"
}
