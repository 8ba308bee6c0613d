package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
)

const fnLabel = "kdbench.io/function"

func pod(name, fn string, ready bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{fnLabel: fn}}}
	if ready {
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.128.0.2",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	}
	return p
}

func TestPodSourceFollowsReadyPods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := k8sfake.NewSimpleClientset(pod("f-1", "f", true), pod("f-2", "f", false), pod("g-1", "g", true))
	g, _ := New(Knative(), nil, nil)
	g.Register("f")
	g.Register("g")
	var mu sync.Mutex
	dialed := map[string]*fake{}
	dial := func(p *corev1.Pod) (Instance, error) {
		mu.Lock()
		defer mu.Unlock()
		if dialed[p.Name] != nil {
			t.Errorf("pod %s dialed twice", p.Name)
		}
		dialed[p.Name] = &fake{id: p.Name}
		return dialed[p.Name], nil
	}
	if _, err := WatchPods(ctx, cs, "ns", fnLabel, g, dial, t.Logf); err != nil {
		t.Fatal(err)
	}
	eventually := func(what string, fn string, want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for g.Ready(fn) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s has %d ready instances, want %d", what, fn, g.Ready(fn), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	eventually("initial list", "f", 1)
	eventually("initial list", "g", 1)

	pods := cs.CoreV1().Pods("ns")
	if _, err := pods.UpdateStatus(ctx, pod("f-2", "f", true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("pod turned Ready", "f", 2)

	deleting := pod("f-1", "f", true)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	if _, err := pods.Update(ctx, deleting, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("pod being deleted", "f", 1)

	if err := pods.Delete(ctx, "g-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("pod deleted", "g", 0)
	mu.Lock()
	defer mu.Unlock()
	if !dialed["g-1"].isClosed() || dialed["f-1"].isClosed() {
		t.Errorf("closed: deleted pod %v (want true), pod being deleted %v (want false)", dialed["g-1"].isClosed(), dialed["f-1"].isClosed())
	}
}
