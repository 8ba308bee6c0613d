package selfcheck

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/collectors/results"
)

// ReadySeen is what the dropped-events check needs of a collector
// (*timeline.Collector implements it).
type ReadySeen interface {
	// ReadyObserved maps each pod seen Ready to whether a watch event
	// showed it (false: only a relist did).
	ReadyObserved() map[string]bool
}

// Dropped lists the namespace's pods afresh after a repetition and reports,
// as CheckDroppedEvents, the pods Ready in the API server whose Ready the
// collector never received through a watch event: never seen Ready at all,
// or seen only through a relist. The threshold is 0. If the list fails the
// check warns that it could not be made.
func Dropped(ctx context.Context, cs kubernetes.Interface, namespace string, seen ReadySeen, id results.RepID) []results.SelfCheck {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return []results.SelfCheck{unverified(id, results.CheckDroppedEvents, "events", 0,
			fmt.Sprintf("listing the pods of %s: %v", namespace, err))}
	}
	return []results.SelfCheck{DroppedFrom(pods.Items, seen.ReadyObserved(), id)}
}

// DroppedFrom is Dropped's comparison of a pod list with what was seen.
func DroppedFrom(pods []corev1.Pod, seen map[string]bool, id results.RepID) results.SelfCheck {
	missed, relisted, ready := 0, 0, 0
	for i := range pods {
		if !podReady(&pods[i]) {
			continue
		}
		ready++
		viaWatch, ok := seen[pods[i].Name]
		switch {
		case !ok:
			missed++
		case !viaWatch:
			relisted++
		}
	}
	return results.NewSelfCheck(id, results.CheckDroppedEvents, "events", float64(missed+relisted), 0,
		fmt.Sprintf("of %d pods Ready in the API server, %d never seen Ready by the harness, %d seen Ready only through a relist", ready, missed, relisted))
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
