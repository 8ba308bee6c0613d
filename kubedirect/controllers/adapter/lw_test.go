package adapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/ingress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// headHop is a hop with no peers: synced at once, written only locally.
func headHop(t *testing.T, ctx context.Context) *hop.Runtime {
	t.Helper()
	rt, err := hop.NewRuntime(hop.RuntimeConfig{Core: hop.Config{Name: "t", LogCap: 1024,
		Router: hop.RouterFuncs{}, Clock: func() int64 { return time.Now().UnixNano() }}})
	require.NoError(t, err)
	go func() { _ = rt.Run(ctx) }()
	return rt
}

// fakeAPI serves a fixed list and a watch the test drives.
type fakeAPI struct {
	list runtime.Object
	w    *watch.FakeWatcher
}

func (f *fakeAPI) lw() toolscache.ListerWatcher {
	return &toolscache.ListWatch{
		ListFunc:  func(metav1.ListOptions) (runtime.Object, error) { return f.list.DeepCopyObject(), nil },
		WatchFunc: func(metav1.ListOptions) (watch.Interface, error) { return f.w, nil },
	}
}

func rs(name string, managed bool, replicas int32, rv string) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv, Labels: map[string]string{}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas}}
	if managed {
		r.Labels[egress.ManagedLabel] = "true"
	}
	return r
}

func replicas(o runtime.Object) int32 { return *o.(*appsv1.ReplicaSet).Spec.Replicas }

func TestOverlayReplicas(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := headHop(t, ctx)
	require.NoError(t, rt.Write(ctx, wire.Record{Kind: wire.KindReplicaSet, Namespace: "ns", Name: "m", Replicas: 7}))
	api := &fakeAPI{list: &appsv1.ReplicaSetList{ListMeta: metav1.ListMeta{ResourceVersion: "10"},
		Items: []appsv1.ReplicaSet{*rs("m", true, 0, "5"), *rs("u", false, 2, "6")}}, w: watch.NewFake()}
	o := &Overlay{Ctx: ctx, API: api.lw(), Src: rt, Kind: wire.KindReplicaSet, SetReplicas: func(o runtime.Object, n int32) runtime.Object {
		r := o.(*appsv1.ReplicaSet).DeepCopy()
		r.Spec.Replicas = &n
		return r
	}}
	l, err := o.List(metav1.ListOptions{})
	require.NoError(t, err)
	items := l.(*appsv1.ReplicaSetList).Items
	require.Equal(t, int32(7), *items[0].Spec.Replicas, "managed: the hop's record wins")
	require.Regexp(t, `^5/\d+$`, items[0].ResourceVersion)
	require.Equal(t, int32(2), *items[1].Spec.Replicas, "unmanaged: the API server's")
	require.Equal(t, "6", items[1].ResourceVersion)

	_, err = o.Watch(metav1.ListOptions{ResourceVersion: "5"})
	require.True(t, apierrors.IsResourceExpired(err), "an object's resourceVersion cannot resume: %v", err)
	w, err := o.Watch(metav1.ListOptions{ResourceVersion: l.(*appsv1.ReplicaSetList).ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()

	require.NoError(t, rt.Write(ctx, wire.Record{Kind: wire.KindReplicaSet, Namespace: "ns", Name: "m", Replicas: 9}))
	ev := <-w.ResultChan()
	require.Equal(t, watch.Modified, ev.Type)
	require.Equal(t, int32(9), replicas(ev.Object), "a new scale record re-emits the listed object")

	api.w.Modify(rs("m", true, 1, "11"))
	ev = <-w.ResultChan()
	require.Equal(t, int32(9), replicas(ev.Object), "an API update keeps the hop's replicas")
	api.w.Modify(rs("u", false, 4, "12"))
	ev = <-w.ResultChan()
	require.Equal(t, int32(4), replicas(ev.Object))
	require.Equal(t, "12", ev.Object.(*appsv1.ReplicaSet).ResourceVersion)
}

func TestUnionPods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := headHop(t, ctx)
	require.NoError(t, rt.Write(ctx, wire.Record{Kind: wire.KindPod, Phase: wire.PhasePending, Namespace: "ns", Name: "managed-0", Owner: "rs"}))
	api := &fakeAPI{list: &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "10"},
		Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "plain-0", ResourceVersion: "9"}}}}, w: watch.NewFake()}
	u := &Union{API: api.lw(), Hop: ingress.Pods(ctx, rt, nil)}
	l, err := u.List(metav1.ListOptions{ResourceVersion: "0", Limit: 500})
	require.NoError(t, err)
	pl := l.(*corev1.PodList)
	var names []string
	for _, p := range pl.Items {
		names = append(names, p.Name)
	}
	require.ElementsMatch(t, []string{"plain-0", "managed-0"}, names)
	w, err := u.Watch(metav1.ListOptions{ResourceVersion: pl.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()
	require.NoError(t, rt.Write(ctx, wire.Record{Kind: wire.KindPod, Phase: wire.PhasePending, Namespace: "ns", Name: "managed-1", Owner: "rs"}))
	ev := <-w.ResultChan()
	require.Equal(t, "managed-1", ev.Object.(*corev1.Pod).Name)
	api.w.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "plain-1", ResourceVersion: "11"}})
	ev = <-w.ResultChan()
	require.Equal(t, "plain-1", ev.Object.(*corev1.Pod).Name)
	api.w.Stop()
	for range w.ResultChan() { // either source ending ends the merged watch
	}
}

// TestUnmanagedPodsLW: the Deployment hop's pod list and watch ask the API
// server for unmanaged pods only.
func TestUnmanagedPodsLW(t *testing.T) {
	selectors := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		selectors <- r.URL.Query().Get("labelSelector")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`))
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	require.NoError(t, err)
	_, err = UnmanagedPodsLW(cs).List(metav1.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, "kubedirect.io/managed!=true", <-selectors)
}
