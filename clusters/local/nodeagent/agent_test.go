package nodeagent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestShutdown(t *testing.T) {
	tests := []struct {
		name          string
		deleteOnExit  bool
		wantRemaining int
	}{
		{"keeps nodes", false, 3},
		{"deletes nodes on exit", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			h := newHarness(t, Config{Nodes: 3, DeleteNodesOnExit: tt.deleteOnExit, SandboxDelay: time.Hour}, nil).start()
			for i := range 20 {
				h.createPod(boundPod(fmt.Sprintf("p%d", i), nodeName(DefaultNamePrefix, i%3)))
			}
			h.clock.Step(1)
			h.stop()
			// No timer outlives the agent (pending ones would keep it reachable).
			if n := h.timers.pending.Load(); n != 0 {
				t.Errorf("%d timers still pending after Run returned", n)
			}

			ctx := context.Background()
			nodes, err := h.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			leases, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes.Items) != tt.wantRemaining || len(leases.Items) != tt.wantRemaining {
				t.Errorf("%d nodes and %d leases left, want %d", len(nodes.Items), len(leases.Items), tt.wantRemaining)
			}
		})
	}
}

func TestShutdownDuringRegistration(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t, Config{Nodes: 200, RegisterParallelism: 2}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before anything was registered
	if err := h.agent.Run(ctx); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if err := h.agent.WaitForNodes(context.Background()); err == nil || !strings.Contains(err.Error(), "stopped before") {
		t.Errorf("WaitForNodes = %v, want a stopped-before-ready error", err)
	}
}

func TestRunTwice(t *testing.T) {
	h := newHarness(t, Config{Nodes: 1}, nil).start()
	if err := h.agent.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestMetricsRegistered(t *testing.T) {
	h := newHarness(t, Config{Nodes: 1, SandboxDelay: 200_000_000}, nil)
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{
		"kdbench_nodeagent_pod_ready_lag_seconds",
		"kdbench_nodeagent_pod_status_update_duration_seconds",
		"kdbench_nodeagent_pods_started_total",
		"kdbench_nodeagent_pods_deleted_total",
		"kdbench_nodeagent_pod_status_update_errors_total",
		"kdbench_nodeagent_pod_delete_errors_total",
		"kdbench_nodeagent_lease_renew_errors_total",
		"kdbench_nodeagent_node_status_update_errors_total",
		"kdbench_nodeagent_nodes",
		"kdbench_nodeagent_pods",
		"kdbench_nodeagent_node_registration_duration_seconds",
		"kdbench_nodeagent_sandbox_delay_seconds",
		"kdbench_nodeagent_pod_queue_length",
	} {
		if !got[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
	if d := h.metric("kdbench_nodeagent_sandbox_delay_seconds"); d != 0.2 {
		t.Errorf("sandbox delay gauge = %g, want 0.2", d)
	}
	// A second agent on the same registry is refused, not a panic.
	if _, err := New(h.client, Config{Nodes: 1}, WithRegisterer(h.reg)); err == nil {
		t.Error("two agents registered the same metrics")
	}
}

// TestPolicyRulesCoverRequests runs every path of the agent and checks each request it
// made against PolicyRules, so the ClusterRole cannot fall behind the code.
func TestPolicyRulesCoverRequests(t *testing.T) {
	h := newHarness(t, Config{Nodes: 2, DeleteNodesOnExit: true, LeaseRenewInterval: time.Second, StatusInterval: time.Second},
		[]harnessOpt{withObjects(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kd-node-1"}})}).start()
	// The test's own writes go to the tracker directly, so Actions holds only the agent's.
	podsGVR := corev1.SchemeGroupVersion.WithResource("pods")
	if err := h.client.Tracker().Create(podsGVR, boundPod("web", "kd-node-0"), "default"); err != nil {
		t.Fatal(err)
	}
	p := h.waitReady("default", "web")
	now := metav1.NewTime(h.clock.Now())
	p.DeletionTimestamp = &now
	if err := h.client.Tracker().Update(podsGVR, p, "default"); err != nil {
		t.Fatal(err)
	}
	h.eventuallyAdvancing("renewals, heartbeats and deletion", time.Second, func() (bool, error) {
		return h.metric("kdbench_nodeagent_pods_deleted_total") == 1, nil
	})
	h.stop()

	allowed := func(group, resource, verb string) bool {
		for _, r := range PolicyRules() {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	for _, a := range h.client.Actions() {
		res := a.GetResource().Resource
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		seen[a.GetVerb()+" "+res] = true
		if !allowed(a.GetResource().Group, res, a.GetVerb()) {
			t.Errorf("%s %s (group %q) is not in PolicyRules", a.GetVerb(), res, a.GetResource().Group)
		}
	}
	// The scenario did exercise the paths that need each rule.
	for _, want := range []string{"create nodes", "update nodes", "update nodes/status", "patch nodes/status",
		"delete nodes", "watch pods", "update pods/status", "delete pods", "create leases", "update leases", "delete leases"} {
		if !seen[want] {
			t.Errorf("scenario made no %q request", want)
		}
	}
}

// chanSource is a PodSource fed by a test, standing in for Kubedirect's direct link.
type chanSource struct {
	pods   chan *corev1.Pod
	synced atomic.Bool
}

func (s *chanSource) HasSynced() bool { return s.synced.Load() }

func (s *chanSource) Run(ctx context.Context, sink PodSink) error {
	for {
		select {
		case p := <-s.pods:
			sink.PodBound(p)
		case <-ctx.Done():
			return nil
		}
	}
}

func TestExtraPodSource(t *testing.T) {
	src := &chanSource{pods: make(chan *corev1.Pod, 1)}
	// The pod exists unbound in the API server: only the extra source says where it runs.
	unbound := boundPod("direct", "")
	h := newHarness(t, Config{Nodes: 1}, []harnessOpt{withObjects(unbound)}, WithPodSource(src))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- h.agent.Run(ctx) }()

	// Ready waits for every source to sync.
	for _, r := range []string{"pods", "nodes"} {
		ch, _ := h.watches.LoadOrStore(r, make(chan struct{}))
		select { // the informers have listed: only the extra source holds Ready back
		case <-ch.(chan struct{}):
		case <-time.After(waitTimeout):
			t.Fatalf("no %s watch", r)
		}
	}
	select {
	case <-h.agent.Ready():
		t.Fatal("Ready before the extra source synced")
	default:
	}
	src.synced.Store(true)
	if err := h.agent.WaitForNodes(ctx); err != nil {
		t.Fatal(err)
	}

	bound := unbound.DeepCopy()
	bound.Spec.NodeName = "kd-node-0"
	src.pods <- bound
	h.waitReady("default", "direct")
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
}
