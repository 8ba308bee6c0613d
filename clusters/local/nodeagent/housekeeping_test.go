package nodeagent

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A pod handed over by a direct source and deleted before the agent's
// informer saw it gets no delete event: housekeeping forgets it once it has
// been tracked two intervals, and only it. The informer's own pods and a
// pod that exists but is unbound in the API server stay.
func TestHousekeepingForgetsOrphans(t *testing.T) {
	const every = time.Second
	src := &chanSource{pods: make(chan *corev1.Pod, 4)}
	unbound := boundPod("unbound", "") // only the direct source knows it is bound
	h := newHarness(t, Config{Nodes: 1, HousekeepingInterval: every}, []harnessOpt{withObjects(unbound)}, WithPodSource(src))
	src.synced.Store(true)
	h.start()
	h.createPod(boundPod("listed", "kd-node-0"))
	h.waitReady("default", "listed")

	gone := boundPod("gone", "kd-node-0")
	gone.UID = types.UID("deleted-before-the-informer-saw-it")
	src.pods <- gone
	adopted := unbound.DeepCopy()
	adopted.Spec.NodeName = "kd-node-0"
	src.pods <- adopted
	h.eventually("direct pods tracked", func() (bool, error) { return len(h.agent.Pods()) == 3, nil })

	// One interval: too young to be judged.
	h.clock.Step(every)
	time.Sleep(100 * time.Millisecond)
	if n := len(h.agent.Pods()); n != 3 {
		t.Fatalf("%d pods after one interval, want 3: a pod is judged only after two", n)
	}
	h.eventually("the orphan forgotten", func() (bool, error) {
		h.clock.Step(every) // one tick at a time: a fake ticker drops ticks nobody read yet
		time.Sleep(10 * time.Millisecond)
		return h.metric("kdbench_nodeagent_orphan_pods_forgotten_total") == 1, nil
	})
	var names []string
	for _, p := range h.agent.Pods() {
		names = append(names, p.Name)
	}
	if len(names) != 2 || names[0] != "listed" || names[1] != "unbound" {
		t.Errorf("tracked %v after housekeeping, want [listed unbound]", names)
	}
	if h.metric("kdbench_nodeagent_pods") != 2 {
		t.Errorf("pods gauge %g, want 2", h.metric("kdbench_nodeagent_pods"))
	}
	_ = h.client.CoreV1().Pods("default").Delete(context.Background(), "listed", metav1.DeleteOptions{})
}
