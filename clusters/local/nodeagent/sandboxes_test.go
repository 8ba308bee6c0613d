package nodeagent

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// fakeSandboxes records Start and Stop calls, and whether the pod was
// already Ready when its sandbox started.
type fakeSandboxes struct {
	h         *harness
	mu        sync.Mutex
	fail      int // fail this many Starts first
	started   []netip.Addr
	readyLate bool // a Start saw the pod already Ready
	stopped   []string
}

func (f *fakeSandboxes) Start(pod *corev1.Pod, ip netip.Addr) error {
	p, err := f.h.getPod(pod.Namespace, pod.Name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && isRunningAndReady(p) {
		f.readyLate = true
	}
	if f.fail > 0 {
		f.fail--
		return errors.New("port busy")
	}
	f.started = append(f.started, ip)
	return nil
}

func (f *fakeSandboxes) Stop(ns, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, ns+"/"+name)
}

func (f *fakeSandboxes) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started), len(f.stopped)
}

func TestSandboxesFollowPodLifecycle(t *testing.T) {
	tests := []struct {
		name        string
		fail        int
		hostNetwork bool
		wantStarts  int
	}{
		{"sandbox serves before the pod is Ready", 0, false, 1},
		{"a failed start is retried before Ready", 2, false, 1},
		{"host-network pods get none", 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := &fakeSandboxes{fail: tt.fail}
			h := newHarness(t, Config{Nodes: 1}, nil, WithSandboxes(sb))
			sb.h = h
			h.start()
			p := boundPod("fn", "kd-node-0")
			p.Spec.HostNetwork = tt.hostNetwork
			h.createPod(p)
			var got *corev1.Pod
			// Failed starts retry with backoff on the fake clock.
			h.eventuallyAdvancing("pod fn Ready", 10*time.Millisecond, func() (bool, error) {
				p, err := h.getPod("default", "fn")
				got = p
				return err == nil && isRunningAndReady(p), nil
			})
			starts, _ := sb.counts()
			if starts != tt.wantStarts || sb.readyLate {
				t.Fatalf("%d sandbox starts (ready before start: %v), want %d before Ready", starts, sb.readyLate, tt.wantStarts)
			}
			if starts == 1 && sb.started[0].String() != got.Status.PodIP {
				t.Errorf("sandbox started on %s, pod IP %s", sb.started[0], got.Status.PodIP)
			}
			h.markDeleting("fn")
			h.eventually("pod deleted", func() (bool, error) {
				_, err := h.getPod("default", "fn")
				return apierrors.IsNotFound(err), nil
			})
			h.eventually("sandbox stopped", func() (bool, error) {
				_, stops := sb.counts()
				return stops == 1, nil
			})
			if sb.stopped[0] != "default/fn" {
				t.Errorf("stopped %q, want default/fn", sb.stopped[0])
			}
		})
	}
}
