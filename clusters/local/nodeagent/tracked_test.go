package nodeagent

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// /pods names what the kdbench_nodeagent_pods gauge counts, in each state.
func TestTrackedPods(t *testing.T) {
	h := newHarness(t, Config{Nodes: 2}, nil).start()
	h.createPod(boundPod("b", nodeName(DefaultNamePrefix, 1)))
	h.createPod(boundPod("a", nodeName(DefaultNamePrefix, 0)))
	h.waitReady("default", "a")
	h.waitReady("default", "b")

	rec := httptest.NewRecorder()
	h.agent.PodsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/pods", nil))
	var got []TrackedPod
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("/pods: %v: %s", err, rec.Body)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" || got[0].Node != nodeName(DefaultNamePrefix, 0) ||
		got[0].State != "ready" || got[0].UID == "" || got[0].Bound.IsZero() {
		t.Fatalf("/pods = %+v, want a and b, ready, in name order", got)
	}

	for _, name := range []string{"a", "b"} {
		if err := h.client.CoreV1().Pods("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("no pod tracked", func() (bool, error) { return len(h.agent.Pods()) == 0, nil })
	if h.metric("kdbench_nodeagent_pods") != 0 {
		t.Error("the gauge and /pods disagree")
	}
}
