package nodeagent

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
)

func TestPodBecomesReady(t *testing.T) {
	tests := []struct {
		name        string
		delay       time.Duration
		hostNetwork bool
	}{
		{"no delay", 0, false},
		{"paper's + lifecycle", 200 * time.Millisecond, false},
		{"host network", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timings := make(chan PodTiming, 10)
			h := newHarness(t, Config{Nodes: 2, SandboxDelay: tt.delay}, nil,
				WithObserver(ObserverFunc(func(pt PodTiming) { timings <- pt }))).start()
			p := boundPod("web", "kd-node-1")
			p.Spec.HostNetwork = tt.hostNetwork
			h.createPod(p)
			key := types.NamespacedName{Namespace: "default", Name: "web"}

			if tt.delay > 0 {
				// The first sync finds the sandbox still starting and waits out the delay.
				if ev := h.waitSynced(key); ev.after != tt.delay || ev.err != nil {
					t.Fatalf("first sync = wait %s, err %v; want wait %s", ev.after, ev.err, tt.delay)
				}
				if got, _ := h.getPod("default", "web"); isRunningAndReady(got) {
					t.Fatal("pod Ready before its sandbox delay")
				}
				h.clock.Step(tt.delay)
			}
			got := h.waitReady("default", "web")

			if got.Status.HostIP != "172.16.0.2" {
				t.Errorf("hostIP = %s, want node 1's 172.16.0.2", got.Status.HostIP)
			}
			ip := netip.MustParseAddr(got.Status.PodIP)
			switch {
			case tt.hostNetwork && got.Status.PodIP != got.Status.HostIP:
				t.Errorf("host-network pod IP %s, want the host's", ip)
			case !tt.hostNetwork && !netip.MustParsePrefix("10.128.1.0/24").Contains(ip):
				t.Errorf("pod IP %s not in node 1's pod CIDR 10.128.1.0/24", ip)
			}
			if !got.Status.StartTime.Time.Equal(epoch) {
				t.Errorf("startTime = %s, want when the agent saw the pod bound (%s)", got.Status.StartTime, epoch)
			}
			cs := got.Status.ContainerStatuses
			if len(cs) != 1 || !cs[0].Ready || cs[0].State.Running == nil {
				t.Errorf("container statuses = %+v", cs)
			}
			select {
			case pt := <-timings:
				if !pt.Bound.Equal(epoch) || pt.Ready.Sub(pt.Bound) != tt.delay || pt.Node != "kd-node-1" {
					t.Errorf("observer saw %+v; want bound at %s, ready %s later", pt, epoch, tt.delay)
				}
			case <-time.After(waitTimeout):
				t.Fatal("observer not told")
			}
			if len(timings) != 0 {
				t.Errorf("observer told %d more times", len(timings))
			}
			// The observer is told after the metrics are updated.
			if h.metric("kdbench_nodeagent_pods_started_total") != 1 || h.metric("kdbench_nodeagent_pod_ready_lag_seconds") != 1 {
				t.Error("pods_started_total or the lag histogram did not count the pod")
			}
		})
	}
}

// allocated returns how many pod IPs node index i has handed out.
func (h *harness) allocated(i int) int {
	h.agent.life.mu.Lock()
	defer h.agent.life.mu.Unlock()
	return h.agent.nodeList[i].ips.inUse
}

func TestPodIPsUniqueAndReleased(t *testing.T) {
	const nodes, pods = 3, 150
	h := newHarness(t, Config{Nodes: nodes}, nil).start()
	for i := range pods {
		h.createPod(boundPod(fmt.Sprintf("p%d", i), nodeName(DefaultNamePrefix, i%nodes)))
	}
	seen := map[string]string{}
	for i := range pods {
		name := fmt.Sprintf("p%d", i)
		p := h.waitReady("default", name)
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || ip.IsLoopback() || !ip.Is4() {
			t.Fatalf("pod %s IP %q is not a non-loopback IPv4 address", name, p.Status.PodIP)
		}
		if other, dup := seen[p.Status.PodIP]; dup {
			t.Fatalf("pods %s and %s share IP %s", other, name, ip)
		}
		seen[p.Status.PodIP] = name
		cidr := netip.MustParsePrefix(h.agent.nodeList[i%nodes].podCIDR.String())
		if !cidr.Contains(ip) {
			t.Errorf("pod %s IP %s outside its node's %s", name, ip, cidr)
		}
	}
	for i := range nodes {
		if got := h.allocated(i); got != pods/nodes {
			t.Errorf("node %d holds %d IPs, want %d", i, got, pods/nodes)
		}
	}

	for i := range pods {
		if err := h.client.CoreV1().Pods("default").Delete(context.Background(), fmt.Sprintf("p%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("IPs released", func() (bool, error) {
		for i := range nodes {
			if h.allocated(i) != 0 {
				return false, nil
			}
		}
		return h.metric("kdbench_nodeagent_pods") == 0, nil
	})
}

// markDeleting does what the API server does on a graceful delete: it sets the
// deletionTimestamp and leaves the pod for the kubelet to finish.
func (h *harness) markDeleting(name string) *corev1.Pod {
	h.t.Helper()
	p, err := h.getPod("default", name)
	if err != nil {
		h.t.Fatal(err)
	}
	now := metav1.NewTime(h.clock.Now())
	p.DeletionTimestamp = &now
	p.DeletionGracePeriodSeconds = new(int64)
	*p.DeletionGracePeriodSeconds = 30
	p, err = h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func TestPodDeletion(t *testing.T) {
	tests := []struct {
		name             string
		sandboxDelay     time.Duration
		terminationDelay time.Duration
		startFirst       bool
	}{
		{"running pod", 0, 0, true},
		{"running pod, containers take 5s to stop", 0, 5 * time.Second, true},
		{"pod deleted while its sandbox starts", time.Hour, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Nodes: 1, SandboxDelay: tt.sandboxDelay, TerminationDelay: tt.terminationDelay}, nil).start()
			key := types.NamespacedName{Namespace: "default", Name: "web"}
			h.createPod(boundPod("web", "kd-node-0"))
			if tt.startFirst {
				h.waitReady("default", "web")
			} else if ev := h.waitSynced(key); ev.after != tt.sandboxDelay {
				t.Fatalf("first sync waits %s, want the sandbox delay", ev.after)
			}
			pod := h.markDeleting("web")

			if tt.terminationDelay > 0 {
				for ev := h.waitSynced(key); ev.after != tt.terminationDelay; ev = h.waitSynced(key) {
				}
				if _, err := h.getPod("default", "web"); err != nil {
					t.Fatalf("pod deleted before its containers stopped: %v", err)
				}
				h.clock.Step(tt.terminationDelay)
			}
			h.eventually("pod deleted", func() (bool, error) {
				_, err := h.getPod("default", "web")
				return apierrors.IsNotFound(err), nil
			})

			var del *k8stesting.DeleteActionImpl
			for _, a := range h.client.Actions() {
				if d, ok := a.(k8stesting.DeleteActionImpl); ok && d.GetResource().Resource == "pods" {
					del = &d
				}
			}
			if del == nil {
				t.Fatal("no pod delete request")
			}
			o := del.DeleteOptions
			if o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 || o.Preconditions == nil || *o.Preconditions.UID != pod.UID {
				t.Errorf("delete options = %+v; want grace period 0 and the pod's UID as precondition", o)
			}
			if got := h.metric("kdbench_nodeagent_pods_deleted_total"); got != 1 {
				t.Errorf("pods_deleted_total = %g, want 1", got)
			}
			wantStarted := 0.0
			if tt.startFirst {
				wantStarted = 1
			}
			if got := h.metric("kdbench_nodeagent_pods_started_total"); got != wantStarted {
				t.Errorf("pods_started_total = %g, want %g", got, wantStarted)
			}
			h.eventually("state dropped", func() (bool, error) { return h.metric("kdbench_nodeagent_pods") == 0, nil })
		})
	}
}

var podsResource = schema.GroupResource{Resource: "pods"}

// failStatusUpdates makes the first n pod status updates fail with err.
func (h *harness) failStatusUpdates(n int, err error) {
	failed := 0
	h.client.PrependReactor("update", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" || failed >= n {
			return false, nil, nil
		}
		failed++
		return true, nil, err
	})
}

func TestStatusUpdateRetries(t *testing.T) {
	conflict := apierrors.NewConflict(podsResource, "web", fmt.Errorf("the object has been modified"))
	tests := []struct {
		name     string
		failures int
		err      error
		requeued bool // retried through the rate-limited queue rather than inline
	}{
		{"one conflict", 1, conflict, false},
		{"conflicts up to the inline limit", maxConflictRetries, conflict, false},
		{"more conflicts than the inline limit", maxConflictRetries + 3, conflict, true},
		{"API server unavailable", 8, apierrors.NewServiceUnavailable("apiserver restarting"), true},
		{"connection refused", 3, fmt.Errorf("dial tcp 127.0.0.1:6443: connect: connection refused"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const pods = 5
			h := newHarness(t, Config{Nodes: 1}, nil)
			h.failStatusUpdates(tt.failures, tt.err)
			h.start()
			for i := range pods {
				h.createPod(boundPod(fmt.Sprintf("p%d", i), "kd-node-0"))
			}
			// Every pod gets Ready: no update is lost.
			h.eventuallyAdvancing("all pods Ready", 100*time.Millisecond, func() (bool, error) {
				return h.metric("kdbench_nodeagent_pods_started_total") == pods, nil
			})
			for i := range pods {
				if p, _ := h.getPod("default", fmt.Sprintf("p%d", i)); !isRunningAndReady(p) {
					t.Errorf("pod p%d not Ready", i)
				}
			}
			if got := h.metric("kdbench_nodeagent_pod_status_update_errors_total"); got != float64(tt.failures) {
				t.Errorf("status update errors = %g, want %d", got, tt.failures)
			}
			gets := 0
			for _, a := range h.client.Actions() {
				if a.GetVerb() == "get" && a.GetResource().Resource == "pods" {
					gets++
				}
			}
			if _, conflicts := tt.err.(*apierrors.StatusError); conflicts && apierrors.IsConflict(tt.err) && gets == 0 {
				t.Error("conflicts were retried without re-reading the pod")
			}
		})
	}
}

func TestConflictWithDeletionDeletes(t *testing.T) {
	h := newHarness(t, Config{Nodes: 1}, nil)
	// The pod is deleted in the API server just before the agent's status write, which
	// therefore conflicts; the agent must notice the deletion instead of starting it.
	raced := false
	h.client.PrependReactor("update", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" || raced {
			return false, nil, nil
		}
		raced = true
		gvr := a.GetResource()
		obj, err := h.client.Tracker().Get(gvr, "default", "web")
		if err != nil {
			return true, nil, err
		}
		p := obj.(*corev1.Pod)
		now := metav1.NewTime(h.clock.Now())
		p.DeletionTimestamp = &now
		if err := h.client.Tracker().Update(gvr, p, "default"); err != nil {
			return true, nil, err
		}
		return true, nil, apierrors.NewConflict(podsResource, "web", fmt.Errorf("the object has been modified"))
	})
	h.start()
	h.createPod(boundPod("web", "kd-node-0"))
	h.eventually("pod deleted", func() (bool, error) {
		_, err := h.getPod("default", "web")
		return apierrors.IsNotFound(err), nil
	})
	if !raced {
		t.Fatal("the status update never ran")
	}
	if got := h.metric("kdbench_nodeagent_pods_started_total"); got != 0 {
		t.Errorf("a pod being deleted was started (%g)", got)
	}
	if got := h.metric("kdbench_nodeagent_pods_deleted_total"); got != 1 {
		t.Errorf("pods_deleted_total = %g, want 1", got)
	}
}

func TestPodsLeftAlone(t *testing.T) {
	running := boundPod("adopted", "kd-node-0")
	running.Status = runningStatus(running, "172.16.0.1", "10.128.0.2", epoch, epoch)
	done := boundPod("done", "kd-node-0")
	done.Status.Phase = corev1.PodSucceeded
	foreign := boundPod("foreign", "someone-elses-node")

	h := newHarness(t, Config{Nodes: 2}, []harnessOpt{withObjects(running, done, foreign)}).start()
	// Pods are handled in informer order, so once this one is Ready the others were seen.
	h.createPod(boundPod("marker", "kd-node-0"))
	marker := h.waitReady("default", "marker")

	if marker.Status.PodIP == "10.128.0.2" {
		t.Error("the adopted pod's IP was handed out again")
	}
	if p, _ := h.getPod("default", "done"); p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("terminal pod changed to %s", p.Status.Phase)
	}
	if p, _ := h.getPod("default", "foreign"); p.Status.Phase != corev1.PodPending {
		t.Errorf("pod on a foreign node changed to %s", p.Status.Phase)
	}
	if got := h.metric("kdbench_nodeagent_pods_started_total"); got != 1 {
		t.Errorf("pods_started_total = %g, want 1 (only the marker)", got)
	}
	for _, a := range h.client.Actions() {
		if a.GetSubresource() == "status" && a.GetResource().Resource == "pods" {
			if u, ok := a.(k8stesting.UpdateAction); ok && u.GetObject().(*corev1.Pod).Name != "marker" {
				t.Errorf("status of %s was written", u.GetObject().(*corev1.Pod).Name)
			}
		}
	}
}

func TestDeletedNodeIsIgnored(t *testing.T) {
	interval := 10 * time.Second
	h := newHarness(t, Config{Nodes: 2, LeaseRenewInterval: interval, StatusInterval: time.Hour}, nil).start()
	h.createPod(boundPod("before", "kd-node-1"))
	h.waitReady("default", "before")

	if err := h.client.CoreV1().Nodes().Delete(context.Background(), "kd-node-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The node's pods and IPs are forgotten.
	h.eventually("node forgotten", func() (bool, error) {
		return h.agent.nodeList[1].gone.Load() && h.allocated(1) == 0 &&
			h.metric("kdbench_nodeagent_pods") == 0 && h.metric("kdbench_nodeagent_nodes") == 1, nil
	})

	h.createPod(boundPod("orphan", "kd-node-1"))
	h.createPod(boundPod("marker", "kd-node-0"))
	h.waitReady("default", "marker")
	if p, _ := h.getPod("default", "orphan"); p.Status.Phase != corev1.PodPending {
		t.Errorf("pod on the deleted node became %s", p.Status.Phase)
	}

	h.eventuallyAdvancing("node 0's lease renewed", time.Second, func() (bool, error) {
		n, err := h.renewedLeases(epoch)
		return n == 1, err
	})
	l, err := h.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), "kd-node-1", metav1.GetOptions{})
	if err != nil || l.Spec.RenewTime.After(epoch) {
		t.Errorf("the deleted node's lease was renewed (%v, %v)", l, err)
	}
}
