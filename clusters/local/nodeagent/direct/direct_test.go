package direct

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// sink records what the source hands to the agent's lifecycle.
type sink struct {
	mu       sync.Mutex
	bound    map[string]*corev1.Pod
	arriving map[string]*corev1.Pod
}

func (s *sink) PodBound(p *corev1.Pod) { s.mu.Lock(); s.bound[p.Name] = p; s.mu.Unlock() }

func (s *sink) PodArriving(p *corev1.Pod) { s.mu.Lock(); s.arriving[p.Name] = p; s.mu.Unlock() }

// PodGone forgets the pod if it is the incarnation bound (by UID) or
// arriving (by identity), as the lifecycle.
func (s *sink) PodGone(p *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := func(q *corev1.Pod) bool {
		if p.UID != "" {
			return q.UID == p.UID
		}
		return q.Annotations[UIDAnnotation] != "" && q.Annotations[UIDAnnotation] == p.Annotations[UIDAnnotation]
	}
	if b := s.bound[p.Name]; b != nil && is(b) {
		delete(s.bound, p.Name)
	}
	if a := s.arriving[p.Name]; a != nil && is(a) {
		delete(s.arriving, p.Name)
	}
}

func (s *sink) getArriving(name string) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arriving[name]
}
func (s *sink) get(name string) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound[name]
}

// TestSourceLifecycle drives the source from a scheduler hop over a real
// link: a bound pod is created in the API server from its ReplicaSet's
// template and handed to the lifecycle; Ready is reported upstream as
// Running; a tombstone deletes the pod and is confirmed; a pod bound to
// another agent's node is left alone.
func TestSourceLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	yes := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fn-abc", UID: "rs-uid",
		Labels: map[string]string{egress.ManagedLabel: "true"}},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "fn", egress.ManagedLabel: "true"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "alpine"}}}}}}
	api := fake.NewClientset(rs)
	src, err := New(api, Config{Listen: "127.0.0.1:0", NodePrefix: "kd-"})
	require.NoError(t, err)
	sk := &sink{bound: map[string]*corev1.Pod{}, arriving: map[string]*corev1.Pod{}}
	go func() { _ = src.Run(ctx, sk) }()
	addr, err := src.Addr(ctx)
	require.NoError(t, err)

	sched := startScheduler(ctx, t, addr)
	require.Eventually(t, src.HasSynced, 10*time.Second, 5*time.Millisecond)

	key := wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: "fn-abc-1"}
	require.NoError(t, sched.Write(ctx, wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound, Namespace: "ns", Name: "fn-abc-1",
		UID: "link-uid", Owner: "fn-abc", Node: "kd-3", CreatedNs: time.Now().UnixNano()}))
	require.Eventually(t, func() bool { return sk.get("fn-abc-1") != nil }, 10*time.Second, 5*time.Millisecond)
	a := sk.getArriving("fn-abc-1")
	require.NotNil(t, a, "the sandbox starts at link receipt (PodArriving)")
	require.Equal(t, "kd-3", a.Spec.NodeName)
	require.Equal(t, "link-uid", a.Annotations[UIDAnnotation])
	require.Empty(t, a.UID, "not yet in the API server")
	p, err := api.CoreV1().Pods("ns").Get(ctx, "fn-abc-1", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "kd-3", p.Spec.NodeName)
	require.Equal(t, "fn", p.Labels["app"], "labels from the template")
	require.Equal(t, "alpine", p.Spec.Containers[0].Image, "spec from the template")
	require.Equal(t, "link-uid", p.Annotations[UIDAnnotation])
	require.Equal(t, []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "fn-abc", UID: "rs-uid",
		Controller: &yes, BlockOwnerDeletion: &yes}}, p.OwnerReferences)

	src.PodReady(nodeagent.PodTiming{Namespace: "ns", Name: "fn-abc-1", UID: sk.get("fn-abc-1").UID})
	require.Eventually(t, func() bool {
		r, ok := sched.Store().Get(key)
		return ok && r.Phase == wire.PhaseRunning
	}, 10*time.Second, 5*time.Millisecond, "Ready is reported upstream as Running")

	require.NoError(t, sched.Write(ctx, wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound, Namespace: "ns", Name: "other",
		UID: "u2", Owner: "fn-abc", Node: "elsewhere-0"}))

	r, _ := sched.Store().Get(key)
	r.Phase = wire.PhaseTerminating
	require.NoError(t, sched.Write(ctx, r))
	require.Eventually(t, func() bool {
		_, ok := sched.Store().Get(key)
		return !ok
	}, 10*time.Second, 5*time.Millisecond, "the tombstone is confirmed, so the segment head (here) releases it")
	_, err = api.CoreV1().Pods("ns").Get(ctx, "fn-abc-1", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the pod is deleted in the API server: %v", err)
	require.Nil(t, sk.get("fn-abc-1"), "the lifecycle is told the pod is gone, not left to its informer")
	_, err = api.CoreV1().Pods("ns").Get(ctx, "other", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "a pod for another agent's node is not created")
}

func TestNewRejectsEmptyPrefix(t *testing.T) {
	_, err := New(fake.NewClientset(), Config{})
	require.ErrorContains(t, err, "node prefix")
}

// TestRestartStartsUnfinishedPods: a restarted agent reports the managed
// pods of its nodes to the scheduler, which will not send them again, so it
// hands the ones not yet Running to the lifecycle to start; Running ones
// are the informer's to restore, and other agents' pods are left alone.
func TestRestartStartsUnfinishedPods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod := func(name, node string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "api-" + types.UID(name),
			Labels:      map[string]string{egress.ManagedLabel: "true"},
			Annotations: map[string]string{UIDAnnotation: "link-" + name}},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	}
	api := fake.NewClientset(pod("pending", "kd-1", corev1.PodPending), pod("running", "kd-2", corev1.PodRunning),
		pod("theirs", "elsewhere-0", corev1.PodPending))
	src, err := New(api, Config{Listen: "127.0.0.1:0", NodePrefix: "kd-"})
	require.NoError(t, err)
	sk := &sink{bound: map[string]*corev1.Pod{}, arriving: map[string]*corev1.Pod{}}
	go func() { _ = src.Run(ctx, sk) }()
	_, err = src.Addr(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return sk.get("pending") != nil }, 10*time.Second, 5*time.Millisecond,
		"the pod a crash cut short is started again")
	require.Equal(t, types.UID("api-pending"), sk.get("pending").UID)
	require.Nil(t, sk.get("running"), "a Running pod is the informer's to restore")
	require.Nil(t, sk.get("theirs"), "another agent's pod is not this one's")
	require.Nil(t, sk.getArriving("pending"), "nothing arrived over the link")
}

// startScheduler runs a scheduler hop whose bound pods go to the agent at
// addr, and returns once it has resynced with it.
func startScheduler(ctx context.Context, t *testing.T, addr string) *hop.Runtime {
	t.Helper()
	sched, err := hop.NewRuntime(hop.RuntimeConfig{
		Core: hop.Config{Name: "scheduler", Downstreams: []string{HopName}, LogCap: 1024,
			Router: hop.RouterFuncs{DownstreamFunc: func(r *wire.Record) string {
				if r.Node != "" {
					return HopName
				}
				return ""
			}}},
		Dialer: link.NewGRPCDialer(), Addrs: map[string]string{HopName: addr}})
	require.NoError(t, err)
	go func() { _ = sched.Run(ctx) }()
	require.NoError(t, sched.WaitSynced(ctx))
	return sched
}
