package serving

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

var gvrRoute = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}

// ownedKinds are a Service and what Knative makes for it, owners first.
var ownedKinds = []schema.GroupVersionResource{gvrService, gvrRoute, gvrConfiguration, gvrRevision, gvrPodAutoscaler, gvrSKS}

// DeleteServices deletes every Knative Service in namespace, then, as the
// artifact's trace driver does (experiments/trace/run.sh: ksvc, cfg, rev,
// route), the objects they own kind by kind, and waits until Knative's
// controllers have let them go (finalizers included): Serving must still
// run, or a namespace with its objects never finishes deleting. Left to
// the controller-manager's garbage collector at its 20 QPS, 500 Services'
// objects took over 9 minutes to go on 2 cores.
func DeleteServices(ctx context.Context, dc dynamic.Interface, namespace string, timeout time.Duration) error {
	for _, gvr := range ownedKinds {
		if err := deleteEach(ctx, dc.Resource(gvr).Namespace(namespace)); err != nil {
			return fmt.Errorf("deleting the Knative %s in %s: %w", gvr.Resource, namespace, err)
		}
	}
	// left is what was last seen left, listErr the last listing's error:
	// a listing cut short by the deadline must not hide what was left.
	left, listErr := "nothing listed yet", ""
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		listErr = ""
		for _, gvr := range ownedKinds {
			l, err := dc.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				listErr = fmt.Sprintf("; then listing %s: %v", gvr.Resource, err)
				return false, nil
			}
			if err == nil && len(l.Items) > 0 {
				left = fmt.Sprintf("%d %s (first %s, finalizers %v)", len(l.Items), gvr.Resource, l.Items[0].GetName(), l.Items[0].GetFinalizers())
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("Knative objects in %s not gone %s after deleting their Services: %s%s", namespace, timeout, left, listErr)
	}
	return nil
}

// deleteEach deletes every object of ri one request each, a few at a time.
// One DeleteCollection of 500 Services outlasted the API server's 60 s
// request timeout on a loaded 2-core machine (the 500-function replay's
// tear-down); one Delete each is short, and a Service already gone is fine.
func deleteEach(ctx context.Context, ri dynamic.ResourceInterface) error {
	l, err := ri.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, o := range l.Items {
		name := o.GetName()
		g.Go(func() error {
			if err := ri.Delete(gctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	return g.Wait()
}
