package serving

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

var (
	gvrIngress = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}
	// IngressDomain is the load balancer every KIngress reports: with
	// target-burst-capacity -1 the activator is the only way in.
	IngressDomain = "activator-service." + SystemNamespace + ".svc.cluster.local"
)

// IngressStatusWriter is MODELLED, not Knative: it stands in for an ingress
// controller (Kourier, Istio), of which there is none here. For each
// KIngress whose status is behind its generation it writes what an ingress
// controller writes once its routes are programmed: observedGeneration;
// LoadBalancerReady, NetworkConfigured and Ready True; the load balancer's
// internal domain. Route and Service readiness wait on this; requests do
// not (they go to the activator).
type IngressStatusWriter struct {
	dc     dynamic.Interface
	logf   func(string, ...any)
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartIngressStatusWriter starts it on every namespace's KIngresses.
func StartIngressStatusWriter(ctx context.Context, dc dynamic.Interface, logf func(string, ...any)) (*IngressStatusWriter, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &IngressStatusWriter{dc: dc, logf: logf, cancel: cancel}
	f := dynamicinformer.NewDynamicSharedInformerFactory(dc, 30*time.Second)
	inf := f.ForResource(gvrIngress).Informer()
	handle := func(obj any) {
		if u, ok := obj.(*unstructured.Unstructured); ok && needsStatus(u) {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.markReady(ctx, u.DeepCopy())
			}()
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }}); err != nil {
		cancel()
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		cancel()
		return nil, fmt.Errorf("ingress status writer (modelled): KIngress informer never synced")
	}
	return w, nil
}

// needsStatus: the status is not yet Ready for the current generation.
func needsStatus(u *unstructured.Unstructured) bool {
	gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	return gen != u.GetGeneration() || !conditionTrue(u, "Ready")
}

// markReady writes u's status from the informer's copy, as an ingress
// controller writes from its lister: one request per KIngress (a GET
// before each write doubled the requests, and its client runs at
// client-go's default 5 QPS, as Kourier's single controller does); only
// after a conflict does it read the object again.
func (w *IngressStatusWriter) markReady(ctx context.Context, u *unstructured.Unstructured) {
	ns, name := u.GetNamespace(), u.GetName()
	ri := w.dc.Resource(gvrIngress).Namespace(ns)
	for try := 0; try < 5 && ctx.Err() == nil; try++ {
		if try > 0 {
			var err error
			if u, err = ri.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			} else if err != nil {
				continue
			}
		}
		if !needsStatus(u) {
			return
		}
		now := time.Now().UTC().Format(time.RFC3339)
		var conds []any
		for _, t := range []string{"LoadBalancerReady", "NetworkConfigured", "Ready"} {
			conds = append(conds, map[string]any{"type": t, "status": "True", "lastTransitionTime": now})
		}
		lb := map[string]any{"ingress": []any{map[string]any{"domainInternal": IngressDomain}}}
		u.Object["status"] = map[string]any{
			"observedGeneration":  u.GetGeneration(),
			"conditions":          conds,
			"publicLoadBalancer":  lb,
			"privateLoadBalancer": lb,
		}
		_, err := ri.UpdateStatus(ctx, u, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return
		}
		if !apierrors.IsConflict(err) {
			w.logf("ingress status writer (modelled): KIngress %s/%s: %v", ns, name, err)
		}
	}
}

// Stop stops the writer and waits for its writes.
func (w *IngressStatusWriter) Stop() {
	w.cancel()
	w.wg.Wait()
}
