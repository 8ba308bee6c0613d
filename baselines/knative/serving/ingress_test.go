package serving

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func kingress(ns, name string, generation int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("networking.internal.knative.dev/v1alpha1")
	u.SetKind("Ingress")
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetGeneration(generation)
	return u
}

// TestIngressStatusWriter: a KIngress behind its generation is marked Ready
// with the activator's domain, in one status write and no read, as an
// ingress controller writes from its lister.
func TestIngressStatusWriter(t *testing.T) {
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvrIngress: "IngressList"}, kingress("ns", "fn1", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := StartIngressStatusWriter(ctx, dc, t.Logf)
	require.NoError(t, err)
	defer w.Stop()
	// The tracker reads without recording an action.
	get := func() *unstructured.Unstructured {
		o, err := dc.Tracker().Get(gvrIngress, "ns", "fn1")
		require.NoError(t, err)
		return o.(*unstructured.Unstructured)
	}
	require.Eventually(t, func() bool { return !needsStatus(get()) }, 10*time.Second, 5*time.Millisecond)
	u := get()
	domain, _, _ := unstructured.NestedSlice(u.Object, "status", "privateLoadBalancer", "ingress")
	require.Equal(t, IngressDomain, domain[0].(map[string]any)["domainInternal"])
	var calls []string
	for _, a := range dc.Actions() {
		if a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		calls = append(calls, a.GetVerb()+"/"+a.GetSubresource())
	}
	require.Equal(t, []string{"update/status"}, calls)
}
