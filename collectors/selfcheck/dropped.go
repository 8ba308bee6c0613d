package selfcheck

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/collectors/results"
)

// ReadySeen reports which pods a collector saw Ready, and whether through a
// watch event (true) or only a relist (false).
type ReadySeen interface {
	ReadyObserved() map[string]bool
}

// Dropped lists the namespace's pods afresh and counts those Ready in the
// API server whose Ready the collector never saw through a watch event.
func Dropped(ctx context.Context, cs kubernetes.Interface, namespace string, seen ReadySeen, id results.RepID) []results.SelfCheck {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	return []results.SelfCheck{DroppedFrom(pods.Items, seen.ReadyObserved(), id)}
}

// DroppedFrom is Dropped's comparison, for tests.
func DroppedFrom(pods []corev1.Pod, seen map[string]bool, id results.RepID) results.SelfCheck {
	missed, relisted := 0, 0
	for i := range pods {
		if !podReady(&pods[i]) {
			continue
		}
		viaWatch, ok := seen[pods[i].Name]
		switch {
		case !ok:
			missed++
		case !viaWatch:
			relisted++
		}
	}
	return results.NewSelfCheck(id, results.CheckDroppedEvents, "events", float64(missed+relisted), 0,
		fmt.Sprintf("%d Ready pods never seen Ready by the harness, %d seen only through a relist", missed, relisted))
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
