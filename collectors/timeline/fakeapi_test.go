package timeline

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeAPI scripts what the collector's informers list and watch through a
// fake clientset: every change is applied at a set time on a fake clock,
// delivered as a watch event (or deliberately not), and waited for until
// the collector has handled it, so each timestamp is exactly the script's.
type fakeAPI struct {
	t   *testing.T
	cs  *fake.Clientset
	clk *clocktesting.FakePassiveClock
	c   *Collector

	mu      sync.Mutex
	rv      int
	objs    [numKinds]map[string]metav1.Object // the "server's" state
	watcher [numKinds]*watch.FakeWatcher
	// cached mirrors the informer's cache (name → resourceVersion), from
	// which the number of handler calls each step causes is known.
	cached [numKinds]map[string]string
}

var resources = [numKinds]string{kindPod: "pods", kindRS: "replicasets", kindDeployment: "deployments"}

const testNS = "burst"

var t0 = time.Unix(1_700_000_000, 0)

func newFakeAPI(t *testing.T, initial ...metav1.Object) *fakeAPI {
	h := &fakeAPI{t: t, cs: fake.NewClientset(), clk: clocktesting.NewFakePassiveClock(t0)}
	for k := range h.objs {
		h.objs[k], h.cached[k] = map[string]metav1.Object{}, map[string]string{}
	}
	for _, o := range initial {
		h.rv++
		o.SetResourceVersion(strconv.Itoa(h.rv))
		h.objs[kindOf(o)][o.GetName()] = o
		h.cached[kindOf(o)][o.GetName()] = o.GetResourceVersion()
	}
	for k, res := range resources {
		h.cs.PrependReactor("list", res, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, h.list(k), nil
		})
		h.cs.PrependWatchReactor(res, func(k8stesting.Action) (bool, watch.Interface, error) {
			w := watch.NewFakeWithChanSize(16, false)
			h.mu.Lock()
			h.watcher[k] = w
			h.mu.Unlock()
			return true, w, nil
		})
	}
	h.c = New(h.cs, testNS, labels.Everything(), h.clk)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, h.c.Start(ctx))
	t.Cleanup(h.c.Stop)
	return h
}

func kindOf(o metav1.Object) int {
	switch o.(type) {
	case *corev1.Pod:
		return kindPod
	case *appsv1.ReplicaSet:
		return kindRS
	case *appsv1.Deployment:
		return kindDeployment
	}
	panic(fmt.Sprintf("fakeAPI: unexpected %T", o))
}

func (h *fakeAPI) list(k int) runtime.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	lm := metav1.ListMeta{ResourceVersion: strconv.Itoa(h.rv)}
	switch k {
	case kindPod:
		l := &corev1.PodList{ListMeta: lm}
		for _, o := range h.objs[k] {
			l.Items = append(l.Items, *o.(*corev1.Pod).DeepCopy())
		}
		return l
	case kindRS:
		l := &appsv1.ReplicaSetList{ListMeta: lm}
		for _, o := range h.objs[k] {
			l.Items = append(l.Items, *o.(*appsv1.ReplicaSet).DeepCopy())
		}
		return l
	default:
		l := &appsv1.DeploymentList{ListMeta: lm}
		for _, o := range h.objs[k] {
			l.Items = append(l.Items, *o.(*appsv1.Deployment).DeepCopy())
		}
		return l
	}
}

// handled is how many handler calls the collector made for kind k.
func (h *fakeAPI) handled(k int) int {
	s := h.c.Stats()
	e := [numKinds]Events{s.Pods, s.ReplicaSets, s.Deployments}[k]
	return e.Adds + e.Updates + e.Deletes
}

func (h *fakeAPI) waitHandled(k, want int, what string) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return h.handled(k) >= want }, 20*time.Second, time.Millisecond,
		"the collector never handled %s", what)
	require.Equal(h.t, want, h.handled(k), "handler calls after %s", what)
}

// apply changes the server's state and, if send, delivers the watch event.
func (h *fakeAPI) apply(et watch.EventType, o metav1.Object, send bool) {
	h.t.Helper()
	k := kindOf(o)
	h.mu.Lock()
	if et == watch.Deleted {
		delete(h.objs[k], o.GetName())
	} else {
		h.rv++
		o.SetResourceVersion(strconv.Itoa(h.rv))
		h.objs[k][o.GetName()] = o
	}
	w := h.watcher[k]
	h.mu.Unlock()
	if !send {
		return
	}
	want := h.handled(k) + 1
	if et == watch.Deleted {
		delete(h.cached[k], o.GetName())
	} else {
		h.cached[k][o.GetName()] = o.GetResourceVersion()
	}
	w.Action(et, o.(runtime.Object).DeepCopyObject())
	h.waitHandled(k, want, fmt.Sprintf("%s %s", et, o.GetName()))
}

// get returns a copy of a stored object to change.
func (h *fakeAPI) get(k int, name string) metav1.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.objs[k][name]
	require.True(h.t, ok, "no %s %s", resources[k], name)
	return o.(runtime.Object).DeepCopyObject().(metav1.Object)
}

func (h *fakeAPI) add(o metav1.Object) { h.apply(watch.Added, o, true) }

func (h *fakeAPI) update(k int, name string, change func(metav1.Object)) {
	o := h.get(k, name)
	change(o)
	h.apply(watch.Modified, o, true)
}

func (h *fakeAPI) remove(k int, name string) { h.apply(watch.Deleted, h.get(k, name), true) }

// lose changes the server's state without a watch event: a dropped event.
func (h *fakeAPI) lose(k int, name string, change func(metav1.Object)) {
	o := h.get(k, name)
	if change == nil {
		h.apply(watch.Deleted, o, false)
		return
	}
	change(o)
	h.apply(watch.Modified, o, false)
}

// relist ends kind k's watch with "410 Gone", as an API server does when
// the watch fell too far behind; the reflector lists again (after its
// back-off) and opens a new watch.
func (h *fakeAPI) relist(k int) {
	h.t.Helper()
	lists, watches := h.c.lws[k].counts()
	want := h.handled(k)
	h.mu.Lock()
	for name, o := range h.objs[k] {
		if rv, ok := h.cached[k][name]; !ok || rv != o.GetResourceVersion() {
			want++ // an add, or an update whose resourceVersion changed
		}
	}
	for name := range h.cached[k] {
		if _, ok := h.objs[k][name]; !ok {
			want++ // a tombstone
		}
	}
	h.cached[k] = map[string]string{}
	for name, o := range h.objs[k] {
		h.cached[k][name] = o.GetResourceVersion()
	}
	w := h.watcher[k]
	h.mu.Unlock()
	w.Error(&apierrors.NewResourceExpired("too old resource version").ErrStatus)
	h.waitHandled(k, want, "a relist")
	require.Eventually(h.t, func() bool {
		l, w := h.c.lws[k].counts()
		return l == lists+1 && w == watches+1
	}, 20*time.Second, time.Millisecond, "no relist and new watch")
}

// restartWatch closes kind k's watch cleanly; the reflector opens a new
// one from the last resource version it saw, without a list.
func (h *fakeAPI) restartWatch(k int) {
	h.t.Helper()
	_, watches := h.c.lws[k].counts()
	h.mu.Lock()
	w := h.watcher[k]
	h.mu.Unlock()
	w.Stop()
	require.Eventually(h.t, func() bool { _, n := h.c.lws[k].counts(); return n == watches+1 }, 20*time.Second, time.Millisecond,
		"no new watch")
}

// Objects of the scripts: function fn's Deployment, ReplicaSet and pods.

func deploymentObject(fn string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: fn, Namespace: testNS, Labels: map[string]string{FunctionLabel: fn}},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
	}
}

func rsObject(fn string, replicas int32) *appsv1.ReplicaSet {
	yes := true
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: fn + "-rs", Namespace: testNS, Labels: map[string]string{FunctionLabel: fn},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: fn, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas},
	}
}

func newPod(fn, name string) *corev1.Pod {
	yes := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: testNS, UID: k8stypes.UID("uid-" + name), Labels: map[string]string{FunctionLabel: fn},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fn + "-rs", Controller: &yes}},
	}}
}

func setReplicas(n int32) func(metav1.Object) {
	return func(o metav1.Object) {
		switch v := o.(type) {
		case *appsv1.Deployment:
			v.Spec.Replicas = &n
		case *appsv1.ReplicaSet:
			v.Spec.Replicas = &n
		}
	}
}

func podChange(f func(*corev1.Pod)) func(metav1.Object) {
	return func(o metav1.Object) { f(o.(*corev1.Pod)) }
}

func setCondition(p *corev1.Pod, t corev1.PodConditionType) {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue})
}

var (
	scheduled = podChange(func(p *corev1.Pod) { setCondition(p, corev1.PodScheduled) })
	bind      = func(node string) func(metav1.Object) {
		return podChange(func(p *corev1.Pod) { p.Spec.NodeName = node })
	}
	running = podChange(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning })
	ready   = podChange(func(p *corev1.Pod) { setCondition(p, corev1.PodReady) })
	started = podChange(func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		setCondition(p, corev1.PodReady)
	})
	terminating = podChange(func(p *corev1.Pod) {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	})
)
