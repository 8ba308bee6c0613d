package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestMain(m *testing.M) {
	// The fake clientset's watchers panic when their buffer fills; informers drain
	// them, but bursts of thousands of objects outpace that.
	watch.DefaultChanSize = 1 << 16
	os.Exit(m.Run())
}

// epoch is the fake clock's start; any fixed instant works.
var epoch = time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)

// waitTimeout is only a guard against a hung test: conditions are polled until true.
const waitTimeout = 30 * time.Second

type harness struct {
	t       testing.TB
	client  *fake.Clientset
	clock   *clocktesting.FakeClock
	timers  *countingClock // clock with a count of pending AfterFunc timers
	agent   *Agent
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	runErr  chan error
	synced  chan syncEvent
	watches sync.Map // resource name -> chan struct{} closed when its watch started
}

type syncEvent struct {
	key   types.NamespacedName
	after time.Duration
	err   error
}

type harnessOpt func(*harness)

// withObjects pre-loads the fake API server.
func withObjects(objs ...runtime.Object) harnessOpt {
	return func(h *harness) {
		for _, o := range objs {
			if err := h.client.Tracker().Add(o); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// newHarness builds an agent on a fake clientset and fake clock; start runs it.
func newHarness(t testing.TB, cfg Config, hopts []harnessOpt, opts ...Option) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		client: fake.NewClientset(),
		clock:  clocktesting.NewFakeClock(epoch),
		reg:    prometheus.NewRegistry(),
		runErr: make(chan error, 1),
		synced: make(chan syncEvent, 1<<16),
	}
	// Signal when each informer's watch is open, so tests create objects only after
	// (the fake clientset's list and watch are not atomic).
	h.client.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		gvr := action.GetResource()
		w, err := h.client.Tracker().Watch(gvr, action.GetNamespace())
		if err != nil {
			return false, nil, err
		}
		ch, _ := h.watches.LoadOrStore(gvr.Resource, make(chan struct{}))
		select {
		case <-ch.(chan struct{}):
		default:
			close(ch.(chan struct{}))
		}
		return true, w, nil
	})
	// Like the API server, give every created object a UID (owner references need
	// the Node's).
	h.client.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "" {
			return false, nil, nil
		}
		obj := action.(k8stesting.CreateAction).GetObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return false, nil, nil
		}
		if m.GetUID() == "" {
			m.SetUID(uuid.NewUUID())
		}
		if n, ok := obj.(*corev1.Node); ok {
			// The TaintNodesByCondition admission plugin (on by default).
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
		}
		if err := h.client.Tracker().Create(action.GetResource(), obj, action.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
	for _, o := range hopts {
		o(h)
	}
	h.timers = &countingClock{FakeClock: h.clock}
	a, err := New(h.client, cfg, append([]Option{WithClock(h.timers), WithRegisterer(h.reg)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.registerBackoff = wait.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 5}
	a.life.onSync = func(key types.NamespacedName, after time.Duration, err error) {
		select {
		case h.synced <- syncEvent{key, after, err}:
		default:
		}
	}
	h.agent = a
	return h
}

// start runs the agent and waits until it is Ready and its informers watch.
func (h *harness) start() *harness {
	h.t.Helper()
	_, ctx := ktesting.NewTestContext(h.t)
	ctx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	go func() { h.runErr <- h.agent.Run(ctx) }()
	h.t.Cleanup(h.stop)
	wctx, wcancel := context.WithTimeout(context.Background(), waitTimeout)
	defer wcancel()
	if err := h.agent.WaitForNodes(wctx); err != nil {
		h.t.Fatalf("WaitForNodes: %v", err)
	}
	for _, r := range []string{"pods", "nodes"} {
		ch, _ := h.watches.LoadOrStore(r, make(chan struct{}))
		select {
		case <-ch.(chan struct{}):
		case <-wctx.Done():
			h.t.Fatalf("no %s watch started", r)
		}
	}
	return h
}

// stop cancels Run and returns its error (once; later calls return nil).
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.runErr:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(waitTimeout):
		h.t.Errorf("Run did not return after cancel")
	}
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func (h *harness) eventually(what string, cond func() (bool, error)) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, waitTimeout, true,
		func(context.Context) (bool, error) {
			// Fire timers that came due while their waiter was being set up: the fake
			// clock only fires on a step.
			h.clock.Step(0)
			return cond()
		})
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// eventuallyAdvancing is eventually, moving the fake clock by step before each poll:
// for waits that span backoffs.
func (h *harness) eventuallyAdvancing(what string, step time.Duration, cond func() (bool, error)) {
	h.t.Helper()
	h.eventually(what, func() (bool, error) {
		h.clock.Step(step)
		return cond()
	})
}

// waitSynced waits for the lifecycle to finish a sync of key and returns it.
func (h *harness) waitSynced(key types.NamespacedName) syncEvent {
	h.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case ev := <-h.synced:
			if ev.key == key {
				return ev
			}
		case <-timeout:
			h.t.Fatalf("no sync of %s", key)
		}
	}
}

func (h *harness) getPod(ns, name string) (*corev1.Pod, error) {
	return h.client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (h *harness) createPod(p *corev1.Pod) *corev1.Pod {
	h.t.Helper()
	got, err := h.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		h.t.Fatalf("creating pod %s: %v", p.Name, err)
	}
	return got
}

func (h *harness) waitReady(ns, name string) *corev1.Pod {
	h.t.Helper()
	var pod *corev1.Pod
	h.eventually("pod "+name+" Ready", func() (bool, error) {
		p, err := h.getPod(ns, name)
		if err != nil {
			return false, nil
		}
		pod = p
		return isRunningAndReady(p), nil
	})
	return pod
}

// metric returns the value of a counter or gauge, or the sample count of a histogram.
func (h *harness) metric(name string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	h.t.Fatalf("metric %s not found", name)
	return 0
}

var podSeq int

// boundPod returns a pod bound to node with one container.
func boundPod(name, node string) *corev1.Pod {
	podSeq++
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default",
			UID: types.UID(fmt.Sprintf("uid-%s-%d", name, podSeq)),
		},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "sleep", Image: "alpine:3.20"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodPending,
			Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.NewTime(epoch),
			}},
		},
	}
}

var errInjected = errors.New("injected")

// countingClock counts the AfterFunc timers that have neither fired nor been stopped.
type countingClock struct {
	*clocktesting.FakeClock
	pending atomic.Int64
}

func (c *countingClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &countedTimer{c: c}
	c.pending.Add(1)
	t.Timer = c.FakeClock.AfterFunc(d, func() { t.done(); f() })
	return t
}

type countedTimer struct {
	clock.Timer
	c    *countingClock
	once sync.Once
}

func (t *countedTimer) done() { t.once.Do(func() { t.c.pending.Add(-1) }) }

func (t *countedTimer) Stop() bool {
	r := t.Timer.Stop()
	t.done()
	return r
}
