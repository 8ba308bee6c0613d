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
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("serving.knative.dev/v1")
		u.SetKind("Service")
		u.SetNamespace("ns")
		u.SetName(fmt.Sprintf("fn%d", i))
		objs = append(objs, u)
	}
	lists := map[schema.GroupVersionResource]string{}
	for gvr, kind := range map[schema.GroupVersionResource]string{gvrService: "ServiceList", gvrRoute: "RouteList",
		gvrConfiguration: "ConfigurationList", gvrRevision: "RevisionList", gvrPodAutoscaler: "PodAutoscalerList", gvrSKS: "ServerlessServiceList"} {
		lists[gvr] = kind
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
}

// TestDeleteServices: every Service is deleted by a request of its own (no
// DeleteCollection, which outlasts the API server's request timeout at 500
// Services), and a failed delete is named.
func TestDeleteServices(t *testing.T) {
	ctx := context.Background()
	dc := fakeServing(40)
	dc.PrependReactor("delete-collection", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server was unable to return a response in the time allotted")
	})
	require.NoError(t, DeleteServices(ctx, dc, "ns", 5*time.Second))
	deletes := 0
	for _, a := range dc.Actions() {
		if a.GetVerb() == "delete" {
			deletes++
		}
	}
	require.Equal(t, 40, deletes)

	dc = fakeServing(3)
	dc.PrependReactor("delete", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.DeleteAction).GetName() == "fn1" {
			return true, nil, errors.New("refused")
		}
		return false, nil, nil
	})
	require.ErrorContains(t, DeleteServices(ctx, dc, "ns", time.Second), "deleting the Knative Services in ns: fn1: refused")
}
