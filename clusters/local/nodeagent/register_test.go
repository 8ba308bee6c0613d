package nodeagent

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

func TestRegisterNodes(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{}},
		{"labels and taints", Config{Nodes: 5, NamePrefix: "sim-", Labels: map[string]string{"zone": "a"},
			Taints: []corev1.Taint{{Key: "dedicated", Value: "bench", Effect: corev1.TaintEffectNoSchedule}}}},
		{"paper scale-nodes shape", Config{Nodes: 30, CPU: resource.MustParse("48"), MaxPods: 110}},
		{"plus lifecycle", Config{Nodes: 2, SandboxDelay: 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg, nil).start()
			cfg := h.agent.Config()
			ctx := context.Background()
			nodes, err := h.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes.Items) != cfg.Nodes {
				t.Fatalf("%d nodes registered, want %d", len(nodes.Items), cfg.Nodes)
			}
			cidrs := map[string]bool{}
			ips := map[string]bool{}
			for _, n := range nodes.Items {
				if !strings.HasPrefix(n.Name, cfg.NamePrefix) {
					t.Errorf("node %s lacks prefix %s", n.Name, cfg.NamePrefix)
				}
				for k, v := range map[string]string{corev1.LabelHostname: n.Name, corev1.LabelOSStable: "linux", "type": "kdbench-sim"} {
					if n.Labels[k] != v {
						t.Errorf("node %s label %s = %q, want %q", n.Name, k, n.Labels[k], v)
					}
				}
				if got, want := n.Annotations[SandboxDelayAnnotation], cfg.SandboxDelay.String(); got != want {
					t.Errorf("node %s annotation %s = %q, want %q", n.Name, SandboxDelayAnnotation, got, want)
				}
				for k, v := range cfg.Labels {
					if n.Labels[k] != v {
						t.Errorf("node %s lacks configured label %s=%s", n.Name, k, v)
					}
				}
				// Only the configured taints: not the admission plugin's not-ready one.
				if len(n.Spec.Taints) != len(cfg.Taints) || hasConditionTaint(n.Spec.Taints) {
					t.Errorf("node %s taints = %v, want %v", n.Name, n.Spec.Taints, cfg.Taints)
				}
				if got := n.Status.Allocatable[corev1.ResourceCPU]; got.Cmp(cfg.CPU) != 0 {
					t.Errorf("node %s allocatable cpu = %s, want %s", n.Name, got.String(), cfg.CPU.String())
				}
				if got := n.Status.Capacity[corev1.ResourceMemory]; got.Cmp(cfg.Memory) != 0 {
					t.Errorf("node %s memory = %s", n.Name, got.String())
				}
				if got := n.Status.Capacity[corev1.ResourcePods]; got.Value() != int64(cfg.MaxPods) {
					t.Errorf("node %s pods = %s", n.Name, got.String())
				}
				if !nodeReady(&n) {
					t.Errorf("node %s is not Ready: %v", n.Name, n.Status.Conditions)
				}
				p, err := netip.ParsePrefix(n.Spec.PodCIDR)
				if err != nil || cidrs[p.String()] || !netip.MustParsePrefix(cfg.PodCIDR).Contains(p.Addr()) {
					t.Errorf("node %s podCIDR %q: bad, duplicate or outside %s (%v)", n.Name, n.Spec.PodCIDR, cfg.PodCIDR, err)
				}
				cidrs[p.String()] = true
				ip := n.Status.Addresses[0].Address
				if a, err := netip.ParseAddr(ip); err != nil || a.IsLoopback() || ips[ip] {
					t.Errorf("node %s InternalIP %q: bad, loopback or duplicate", n.Name, ip)
				}
				ips[ip] = true

				l, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.Name, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("lease of %s: %v", n.Name, err)
				}
				if *l.Spec.HolderIdentity != n.Name || *l.Spec.LeaseDurationSeconds != 40 || l.Spec.RenewTime == nil {
					t.Errorf("lease %s spec = %+v", n.Name, l.Spec)
				}
				if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].Name != n.Name {
					t.Errorf("lease %s owners = %v, want its Node", n.Name, l.OwnerReferences)
				}
			}
			if got := h.metric("kdbench_nodeagent_nodes"); got != float64(cfg.Nodes) {
				t.Errorf("nodes gauge = %g, want %d", got, cfg.Nodes)
			}
		})
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestRegisterAdoptsExistingNode(t *testing.T) {
	// A node left NotReady by a previous run, with a taint the node lifecycle
	// controller added (which the agent drops: it posts Ready).
	old := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "kd-node-1", UID: "old-uid", Labels: map[string]string{"keep": "me"}},
		Spec: corev1.NodeSpec{PodCIDR: "10.128.1.0/24", PodCIDRs: []string{"10.128.1.0/24"},
			Taints: []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}},
	}
	old.Annotations = map[string]string{SandboxDelayAnnotation: "0s"}
	h := newHarness(t, Config{Nodes: 2, SandboxDelay: 200 * time.Millisecond}, []harnessOpt{withObjects(old)}).start()
	n, err := h.client.CoreV1().Nodes().Get(context.Background(), "kd-node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !nodeReady(n) || n.Labels["keep"] != "me" || n.Labels["type"] != "kdbench-sim" || len(n.Spec.Taints) != 0 || n.Annotations[SandboxDelayAnnotation] != "200ms" {
		t.Errorf("adopted node = labels %v, annotations %v, taints %v, conditions %v", n.Labels, n.Annotations, n.Spec.Taints, n.Status.Conditions)
	}
	l, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), "kd-node-1", metav1.GetOptions{})
	if err != nil || l.OwnerReferences[0].UID != "old-uid" {
		t.Errorf("lease = %v, %v; want one owned by the existing node", l, err)
	}
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name    string
		objs    []runtime.Object
		react   k8stesting.ReactionFunc
		wantErr string
	}{
		{
			name: "existing node with another pod CIDR",
			objs: []runtime.Object{&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kd-node-0"},
				Spec: corev1.NodeSpec{PodCIDR: "10.9.0.0/24"}}},
			wantErr: "registering node kd-node-0: node exists with podCIDR 10.9.0.0/24, not 10.128.0.0/24",
		},
		{
			name: "forbidden",
			react: func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "kd-node-0", nil)
			},
			wantErr: "forbidden",
		},
		{
			name: "unavailable beyond the retries",
			react: func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewServiceUnavailable("etcd down")
			},
			wantErr: "etcd down",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Nodes: 3}, []harnessOpt{withObjects(tt.objs...)})
			if tt.react != nil {
				h.client.PrependReactor("create", "nodes", tt.react)
			}
			err := h.agent.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run error = %v, want one containing %q", err, tt.wantErr)
			}
			if werr := h.agent.WaitForNodes(context.Background()); werr == nil {
				t.Error("WaitForNodes succeeded after Run failed")
			}
		})
	}
}

func TestRegisterRetriesTransientErrors(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		err      error
	}{
		{"throttled", "nodes", apierrors.NewTooManyRequests("slow down", 0)},
		{"connection refused", "nodes", fmt.Errorf("dial tcp 127.0.0.1:6443: connect: connection refused")},
		{"kube-node-lease not created yet", "leases", apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "kube-node-lease")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Nodes: 4}, nil)
			fails := 0
			h.client.PrependReactor("create", tt.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
				if fails < 3 {
					fails++
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			h.start()
			ctx := context.Background()
			n, _ := h.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			l, _ := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
			if len(n.Items) != 4 || len(l.Items) != 4 || fails != 3 {
				t.Errorf("%d nodes and %d leases after %d transient errors, want 4 and 4 after 3", len(n.Items), len(l.Items), fails)
			}
		})
	}
}

func TestClearNotReadyTaintAfterConflict(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
	}{
		{"one conflict", 1},
		{"conflicts beyond the inline retries, then the registration retry", maxConflictRetries + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Nodes: 1}, nil)
			n := 0
			h.client.PrependReactor("update", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "" || n >= tt.conflicts {
					return false, nil, nil
				}
				n++
				return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "kd-node-0", fmt.Errorf("modified"))
			})
			h.start()
			node, err := h.client.CoreV1().Nodes().Get(context.Background(), "kd-node-0", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if hasConditionTaint(node.Spec.Taints) || n != tt.conflicts {
				t.Errorf("taints %v after %d conflicts; want the not-ready taint gone after %d", node.Spec.Taints, n, tt.conflicts)
			}
		})
	}
}

// A direct-mode agent annotates its nodes with its link's address, on new
// nodes and on those a previous run left; an agent restarted without direct
// mode removes it, so the kd scheduler no longer routes there.
func TestRegisterAgentAnnotation(t *testing.T) {
	const ann = "kubedirect.io/agent"
	left := func(a map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kd-node-1", UID: "old-uid", Annotations: a},
			Spec: corev1.NodeSpec{PodCIDR: "10.128.1.0/24", PodCIDRs: []string{"10.128.1.0/24"}}}
	}
	tests := []struct {
		name   string
		direct string
		old    map[string]string
		want   string // "" = absent
	}{
		{"direct mode, new and adopted nodes", "10.0.0.2:7000", nil, "10.0.0.2:7000"},
		{"direct mode, a previous run's address replaced", "10.0.0.2:7001", map[string]string{ann: "10.0.0.2:7000"}, "10.0.0.2:7001"},
		{"API mode after a direct-mode run", "", map[string]string{ann: "10.0.0.2:7000", "other": "kept"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Nodes: 2, DirectAddress: tt.direct}, []harnessOpt{withObjects(left(tt.old))}).start()
			for _, name := range []string{"kd-node-0", "kd-node-1"} {
				n, err := h.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got, ok := n.Annotations[ann]; got != tt.want || ok != (tt.want != "") {
					t.Errorf("%s: %s = %q (present %v), want %q", name, ann, got, ok, tt.want)
				}
				if name == "kd-node-1" && tt.old["other"] != "" && n.Annotations["other"] != "kept" {
					t.Errorf("%s lost an annotation it does not own: %v", name, n.Annotations)
				}
			}
		})
	}
}
