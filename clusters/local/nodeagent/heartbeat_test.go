package nodeagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

// renewedLeases counts the Leases whose renewTime is after t.
func (h *harness) renewedLeases(after time.Time) (int, error) {
	ls, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range ls.Items {
		if l.Spec.RenewTime.After(after) {
			n++
		}
	}
	return n, nil
}

func TestLeaseRenewalIsStaggered(t *testing.T) {
	const nodes = 4
	interval := 10 * time.Second
	h := newHarness(t, Config{Nodes: nodes, LeaseRenewInterval: interval, StatusInterval: time.Hour}, nil).start()
	// Node i first renews at interval*(i+1)/nodes: each quarter step renews one more.
	for k := 1; k <= nodes; k++ {
		h.clock.Step(interval / nodes)
		h.eventually(fmt.Sprintf("%d leases renewed", k), func() (bool, error) {
			n, err := h.renewedLeases(epoch)
			return n == k, err
		})
		if n, _ := h.renewedLeases(epoch); n != k {
			t.Fatalf("after %d/%d of the interval %d leases renewed, want %d", k, nodes, n, k)
		}
	}
	// A full interval later (plus jitter) every lease is renewed again.
	mark := h.clock.Now()
	h.eventuallyAdvancing("all leases renewed again", time.Second, func() (bool, error) {
		n, err := h.renewedLeases(mark)
		return n == nodes, err
	})
	if got := h.metric("kdbench_nodeagent_lease_renew_errors_total"); got != 0 {
		t.Errorf("lease renew errors = %g", got)
	}
}

func TestLeaseRenewalRecovers(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"conflict", apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "kd-node-0", nil)},
		{"not found", apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "kd-node-0")},
		{"unavailable", apierrors.NewServiceUnavailable("apiserver restarting")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interval := 10 * time.Second
			h := newHarness(t, Config{Nodes: 1, LeaseRenewInterval: interval, StatusInterval: time.Hour}, nil)
			failed := false
			h.client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
				if !failed {
					failed = true
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			h.start()
			h.clock.Step(interval)
			// The failure is retried after a backoff (at most 5s), not a whole interval.
			h.eventually("one failed renewal", func() (bool, error) {
				return h.metric("kdbench_nodeagent_lease_renew_errors_total") == 1, nil
			})
			h.eventuallyAdvancing("lease renewed", time.Second, func() (bool, error) {
				n, err := h.renewedLeases(epoch)
				return n == 1, err
			})
		})
	}
}

func TestNodeStatusHeartbeat(t *testing.T) {
	interval := time.Minute
	h := newHarness(t, Config{Nodes: 2, StatusInterval: interval, LeaseRenewInterval: time.Hour, LeaseDuration: 2 * time.Hour}, nil).start()
	h.clock.Step(interval)
	h.eventually("status heartbeats", func() (bool, error) {
		nodes, err := h.client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if !c.LastHeartbeatTime.Time.After(epoch) {
					return false, nil
				}
				if !c.LastTransitionTime.Time.Equal(epoch) {
					return false, fmt.Errorf("node %s condition %s transition time moved to %s", n.Name, c.Type, c.LastTransitionTime)
				}
			}
			if !nodeReady(&n) || len(n.Status.Conditions) != 4 {
				return false, fmt.Errorf("node %s conditions after heartbeat: %v", n.Name, n.Status.Conditions)
			}
		}
		return true, nil
	})
}
