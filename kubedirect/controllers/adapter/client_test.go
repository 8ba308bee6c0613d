package adapter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

func pod(name string, managed bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{}}}
	if managed {
		p.Labels[egress.ManagedLabel] = "true"
	}
	return p
}

// TestClientRoutesWrites checks which writes go over the link (the hop's
// store changes, the API server sees nothing) and which reach the API server.
func TestClientRoutesWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := headHop(t, ctx)
	api := fake.NewClientset(pod("plain", false), rs("urs", false, 1, ""), rs("mrs", true, 1, ""))
	c := NewClient(api, egress.New(rt), rt.Store())
	c.Background = func(f func()) { f() }
	podKey := func(n string) wire.Key { return wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: n} }
	apiPod := func(n string) error { _, err := api.CoreV1().Pods("ns").Get(ctx, n, metav1.GetOptions{}); return err }

	// Create: managed → link with a generated name; unmanaged → API.
	gen := pod("", true)
	gen.GenerateName = "m-"
	created, err := c.CoreV1().Pods("ns").Create(ctx, gen, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Regexp(t, "^m-", created.Name)
	r, ok := rt.Store().Get(podKey(created.Name))
	require.True(t, ok)
	require.Equal(t, wire.PhasePending, r.Phase)
	require.True(t, apierrors.IsNotFound(apiPod(created.Name)), "a managed pod is not written to the API server")
	_, err = c.CoreV1().Pods("ns").Create(ctx, pod("plain-2", false), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, apiPod("plain-2"))
	_, ok = rt.Store().Get(podKey("plain-2"))
	require.False(t, ok)

	// Bind and status writes of a hop pod stay on the link; Get answers from it.
	require.NoError(t, c.CoreV1().Pods("ns").Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: created.Name},
		Target: corev1.ObjectReference{Name: "n1"}}, metav1.CreateOptions{}))
	r, _ = rt.Store().Get(podKey(created.Name))
	require.Equal(t, "n1", r.Node)
	require.Equal(t, wire.PhaseBound, r.Phase)
	got, err := c.CoreV1().Pods("ns").Get(ctx, created.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "n1", got.Spec.NodeName)
	_, err = c.CoreV1().Pods("ns").Patch(ctx, created.Name, types.StrategicMergePatchType, []byte(`{}`), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	_, err = c.CoreV1().Pods("ns").UpdateStatus(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)

	// Delete: a hop pod becomes a tombstone; an API pod is deleted there.
	require.NoError(t, c.CoreV1().Pods("ns").Delete(ctx, created.Name, metav1.DeleteOptions{}))
	r, _ = rt.Store().Get(podKey(created.Name))
	require.Equal(t, wire.PhaseTerminating, r.Phase)
	require.NoError(t, c.CoreV1().Pods("ns").Delete(ctx, "plain", metav1.DeleteOptions{}))
	require.True(t, apierrors.IsNotFound(apiPod("plain")))
	var writes []string
	for _, a := range api.Actions() {
		if a.GetVerb() != "get" {
			writes = append(writes, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	require.Equal(t, []string{"create pods", "delete pods"}, writes, "only the unmanaged pod writes reach the API server")

	// ReplicaSet scale: managed → a scale record, and the object in the background.
	m, err := api.AppsV1().ReplicaSets("ns").Get(ctx, "mrs", metav1.GetOptions{})
	require.NoError(t, err)
	n := int32(5)
	m.Spec.Replicas = &n
	m.ResourceVersion += "/42" // as served by an overlay informer
	_, err = c.AppsV1().ReplicaSets("ns").Update(ctx, m, metav1.UpdateOptions{})
	require.NoError(t, err)
	sr, ok := rt.Store().Get(wire.Key{Kind: wire.KindReplicaSet, Namespace: "ns", Name: "mrs"})
	require.True(t, ok)
	require.Equal(t, int32(5), sr.Replicas)
	inAPI, err := api.AppsV1().ReplicaSets("ns").Get(ctx, "mrs", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(5), *inAPI.Spec.Replicas)
	rev := rt.Store().Rev()
	_, err = c.AppsV1().ReplicaSets("ns").Update(ctx, m, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, rev, rt.Store().Rev(), "an unchanged count is not re-sent (no update loop)")

	// A managed status write is unconditional: coalesced writes would
	// otherwise carry a version an earlier write has superseded.
	m.Status.Replicas = 3
	_, err = c.AppsV1().ReplicaSets("ns").UpdateStatus(ctx, m, metav1.UpdateOptions{})
	require.NoError(t, err)
	last := api.Actions()[len(api.Actions())-1].(k8stesting.UpdateAction)
	require.Equal(t, "status", last.GetSubresource())
	require.Empty(t, last.GetObject().(*appsv1.ReplicaSet).ResourceVersion)

	u, err := api.AppsV1().ReplicaSets("ns").Get(ctx, "urs", metav1.GetOptions{})
	require.NoError(t, err)
	u.Spec.Replicas = &n
	_, err = c.AppsV1().ReplicaSets("ns").Update(ctx, u, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, ok = rt.Store().Get(wire.Key{Kind: wire.KindReplicaSet, Namespace: "ns", Name: "urs"})
	require.False(t, ok, "unmanaged ReplicaSets scale through the API server")
	inAPI, err = api.AppsV1().ReplicaSets("ns").Get(ctx, "urs", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(5), *inAPI.Spec.Replicas)
}

func TestAPIResourceVersion(t *testing.T) {
	for in, want := range map[string]string{"": "", "12": "12", "12/7": "12", "/7": ""} {
		require.Equal(t, want, APIResourceVersion(in), in)
	}
}
