package serving

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func fakeServing(services int) *dynamicfake.FakeDynamicClient {
	var objs []runtime.Object
	for i := range services {
		for _, k := range []struct{ apiVersion, kind, suffix string }{
			{"serving.knative.dev/v1", "Service", ""}, {"serving.knative.dev/v1", "Route", ""}, {"serving.knative.dev/v1", "Configuration", ""},
			{"serving.knative.dev/v1", "Revision", "-00001"}, {"autoscaling.internal.knative.dev/v1alpha1", "PodAutoscaler", "-00001"},
			{"networking.internal.knative.dev/v1alpha1", "ServerlessService", "-00001"},
		} {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion(k.apiVersion)
			u.SetKind(k.kind)
			u.SetNamespace("ns")
			u.SetName(fmt.Sprintf("fn%d%s", i, k.suffix))
			objs = append(objs, u)
		}
	}
	lists := map[schema.GroupVersionResource]string{}
	for gvr, kind := range map[schema.GroupVersionResource]string{gvrService: "ServiceList", gvrRoute: "RouteList",
		gvrConfiguration: "ConfigurationList", gvrRevision: "RevisionList", gvrPodAutoscaler: "PodAutoscalerList", gvrSKS: "ServerlessServiceList"} {
		lists[gvr] = kind
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
}

// TestDeleteServices: every Service, and then each object Knative made for
// it, kind by kind as the artifact's driver, is deleted by a request of its
// own (no DeleteCollection, which outlasts the API server's request
// timeout at 500 Services; no waiting for the garbage collector), and a
// failed delete is named.
func TestDeleteServices(t *testing.T) {
	ctx := context.Background()
	dc := fakeServing(40)
	dc.PrependReactor("delete-collection", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server was unable to return a response in the time allotted")
	})
	require.NoError(t, DeleteServices(ctx, dc, "ns", 5*time.Second))
	deletes := map[string]int{}
	var order []string
	for _, a := range dc.Actions() {
		if a.GetVerb() == "delete" {
			r := a.GetResource().Resource
			if deletes[r] == 0 {
				order = append(order, r)
			}
			deletes[r]++
		}
	}
	require.Equal(t, map[string]int{"services": 40, "routes": 40, "configurations": 40, "revisions": 40, "podautoscalers": 40, "serverlessservices": 40}, deletes)
	require.Equal(t, []string{"services", "routes", "configurations", "revisions", "podautoscalers", "serverlessservices"}, order, "owners first")

	dc = fakeServing(3)
	dc.PrependReactor("delete", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.DeleteAction).GetName() == "fn1" {
			return true, nil, errors.New("refused")
		}
		return false, nil, nil
	})
	require.ErrorContains(t, DeleteServices(ctx, dc, "ns", time.Second), "deleting the Knative services in ns: fn1: refused")
}
