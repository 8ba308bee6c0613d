package nodeagent

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// TrackedPod is one pod the agent's lifecycle holds (what the
// kdbench_nodeagent_pods gauge counts): when it leaks, this names it.
type TrackedPod struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
	Node      string    `json:"node"`
	Bound     time.Time `json:"bound"`
	// State is creating (arrived over a link, its API object not seen
	// yet), bound (waiting for its sandbox), ready, deleting (a
	// deletionTimestamp seen) or deleted (the agent's final delete done,
	// waiting for the API server's watch to confirm).
	State string `json:"state"`
}

// Pods lists the pods the agent tracks, by namespace and name.
func (a *Agent) Pods() []TrackedPod { return a.life.tracked() }

// PodsHandler serves Pods as JSON (GET /pods on the agent's metrics address).
func (a *Agent) PodsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a.Pods())
	})
}

// tracked lists the pods in name order.
func (l *lifecycle) tracked() []TrackedPod {
	out := l.snapshot()
	slices.SortFunc(out, func(a, b TrackedPod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

// snapshot lists the pods in no order (housekeeping, every few seconds).
func (l *lifecycle) snapshot() []TrackedPod {
	l.mu.Lock()
	out := make([]TrackedPod, 0, len(l.pods))
	for key, st := range l.pods {
		p := TrackedPod{Namespace: key.Namespace, Name: key.Name, UID: st.uid, Node: st.node.name, Bound: st.boundAt, State: "bound"}
		switch {
		case st.uid == "":
			p.State = "creating"
		case st.deleted:
			p.State = "deleted"
		case st.pod != nil && st.pod.DeletionTimestamp != nil:
			p.State = "deleting"
		case !st.readyAt.IsZero():
			p.State = "ready"
		}
		out = append(out, p)
	}
	l.mu.Unlock()
	return out
}
