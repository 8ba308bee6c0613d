package ingress_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/ingress"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// pair runs "rs" → "sched" over in-memory links with no hop logic: the test
// plays the controllers through egress and watches through ingress.
func pair(t *testing.T) (rs, sched *hop.Runtime) {
	t.Helper()
	isPod := func(r *wire.Record) bool { return r.Kind == wire.KindPod }
	net := link.NewMemNetwork()
	l, err := net.Listen("sched")
	if err != nil {
		t.Fatal(err)
	}
	rs, err = hop.NewRuntime(hop.RuntimeConfig{
		Core: hop.Config{Name: "rs", Downstreams: []string{"sched"}, LogCap: 1024, Incarnation: 1,
			Router: hop.RouterFuncs{DownstreamFunc: func(r *wire.Record) string {
				if isPod(r) {
					return "sched"
				}
				return ""
			}}},
		Dialer: net, Addrs: map[string]string{"sched": "sched"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sched, err = hop.NewRuntime(hop.RuntimeConfig{
		Core:     hop.Config{Name: "sched", Upstream: "rs", LogCap: 1024, Incarnation: 2, Router: hop.RouterFuncs{UpstreamFunc: isPod}},
		Listener: l,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, r := range []*hop.Runtime{rs, sched} {
		go func() { r.Run(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })
	return rs, sched
}

func informer(t *testing.T, ctx context.Context, src ingress.Source, opts func(*metav1.ListOptions)) toolscache.SharedIndexInformer {
	t.Helper()
	var lw toolscache.ListerWatcher = ingress.Pods(ctx, src, nil)
	if opts != nil {
		lw = &filtered{lw, opts}
	}
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, toolscache.Indexers{})
	go inf.Run(ctx.Done())
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	return inf
}

type filtered struct {
	toolscache.ListerWatcher
	opts func(*metav1.ListOptions)
}

func (f *filtered) List(o metav1.ListOptions) (runtimeObject, error) {
	f.opts(&o)
	return f.ListerWatcher.List(o)
}
func (f *filtered) Watch(o metav1.ListOptions) (watchInterface, error) {
	f.opts(&o)
	return f.ListerWatcher.Watch(o)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a safety net, not a speed assertion
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func getPod(inf toolscache.SharedIndexInformer, key string) *corev1.Pod {
	o, ok, _ := inf.GetStore().GetByKey(key)
	if !ok {
		return nil
	}
	return o.(*corev1.Pod)
}

func TestEgressToIngressLifecycle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs, sched := pair(t)
	rsInf := informer(t, ctx, rs, nil)
	schedInf := informer(t, ctx, sched, nil)
	onNode := informer(t, ctx, sched, func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=node-a" })
	rsOut, schedOut := egress.New(rs), egress.New(sched)

	yes := true
	tmpl := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", GenerateName: "fn-abc-",
		Labels:          map[string]string{egress.ManagedLabel: "true", egress.TemplateLabel: "abc"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "fn-abc", Controller: &yes}}}}
	pod, err := rsOut.CreatePod(ctx, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Name == "" || pod.UID == "" {
		t.Fatalf("created pod lacks name/uid: %+v", pod.ObjectMeta)
	}
	key := "default/" + pod.Name
	eventually(t, "scheduler sees the pending pod", func() bool {
		p := getPod(schedInf, key)
		return p != nil && p.Status.Phase == corev1.PodPending && metav1.GetControllerOf(p).Name == "fn-abc" && p.UID == pod.UID
	})
	if _, err := rsOut.CreatePod(ctx, pod); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	if err := schedOut.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: pod.Name},
		Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the binding flows back upstream", func() bool {
		p := getPod(rsInf, key)
		return p != nil && p.Spec.NodeName == "node-a"
	})
	eventually(t, "the node-filtered informer sees it", func() bool { return getPod(onNode, key) != nil })
	if err := rsOut.DeletePod(ctx, "default", pod.Name); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the tombstone reaches the scheduler", func() bool {
		p := getPod(schedInf, key)
		return p != nil && p.DeletionTimestamp != nil
	})
	if err := schedOut.SetTerminated(ctx, "default", pod.Name); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the confirmed tombstone is released everywhere", func() bool {
		return getPod(rsInf, key) == nil && getPod(schedInf, key) == nil && getPod(onNode, key) == nil
	})
	if err := rsOut.DeletePod(ctx, "default", pod.Name); !apierrors.IsNotFound(err) {
		t.Fatalf("delete after release: %v, want NotFound", err)
	}
}

func TestManaged(t *testing.T) {
	cases := []struct {
		labels map[string]string
		want   bool
	}{
		{nil, false},
		{map[string]string{egress.ManagedLabel: "false"}, false},
		{map[string]string{egress.ManagedLabel: "true"}, true},
	}
	for _, tc := range cases {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}}
		if got := egress.Managed(p); got != tc.want {
			t.Errorf("Managed(%v) = %v", tc.labels, got)
		}
	}
	if egress.Managed(nil) {
		t.Error("Managed(nil)")
	}
}

func TestUnmanagedPodRefused(t *testing.T) {
	rs, _ := pair(t)
	_, err := egress.New(rs).CreatePod(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "x"}})
	if err == nil {
		t.Fatal("unmanaged pod accepted")
	}
}

func TestWatchTooOldIsExpired(t *testing.T) {
	rs, _ := pair(t)
	ctx := context.Background()
	out := egress.New(rs)
	for i := 0; i < 3000; i++ { // more than the log keeps
		if err := out.Scale(ctx, wire.KindReplicaSet, "d", "rs", int32(i)); err != nil {
			t.Fatal(err)
		}
	}
	lw := ingress.Pods(ctx, rs, nil)
	if _, err := lw.Watch(metav1.ListOptions{ResourceVersion: "1"}); !apierrors.IsResourceExpired(err) {
		t.Fatalf("got %v, want ResourceExpired so the reflector relists", err)
	}
}
