package nodeagent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// PodSink receives the pods bound to the agent's nodes. The agent's pod lifecycle is
// the only implementation; it is safe for concurrent use.
type PodSink interface {
	// PodBound reports the latest version of a pod whose spec.nodeName is set (a pod
	// on another agent's node is ignored).
	PodBound(pod *corev1.Pod)
	// PodGone reports that the pod object no longer exists.
	PodGone(pod *corev1.Pod)
}

// PodSource feeds a PodSink. The agent always runs the informer source; the seam is for
// Kubedirect's direct mode, where the scheduler hands pods straight to the agent over
// a link (BindPod) and the agent then writes them to the API server.
// TODO([kd-controllers]): a direct source delivers pods that do not exist in the API
// server yet; the lifecycle will need a create step for them before the status update.
type PodSource interface {
	// Run feeds sink until ctx is done, then returns after its goroutines exit.
	Run(ctx context.Context, sink PodSink) error
	// HasSynced reports whether the source has delivered its initial state.
	HasSynced() bool
}

// boundPodsSelector matches pods that the scheduler (or anyone) has bound to a node.
const boundPodsSelector = "spec.nodeName!="

// informerSource is one shared pod informer for all of the agent's nodes.
type informerSource struct {
	informer cache.SharedIndexInformer
}

func newInformerSource(client kubernetes.Interface) *informerSource {
	inf := v1.NewFilteredPodInformer(client, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.FieldSelector = boundPodsSelector })
	// The agent never reads managed fields; dropping them halves the cache's memory at
	// 10k pods. A status update without managedFields leaves the server's intact.
	_ = inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
			m.GetObjectMeta().SetManagedFields(nil)
		}
		return obj, nil
	})
	return &informerSource{informer: inf}
}

func (s *informerSource) HasSynced() bool { return s.informer.HasSynced() }

func (s *informerSource) Run(ctx context.Context, sink PodSink) error {
	reg, err := s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
				sink.PodBound(pod)
			}
		},
		UpdateFunc: func(_, obj any) {
			if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
				sink.PodBound(pod)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				sink.PodGone(pod)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("nodeagent: pod informer handler: %w", err)
	}
	defer func() { _ = s.informer.RemoveEventHandler(reg) }()
	s.informer.Run(ctx.Done())
	return nil
}

// nodeWatch tells the agent when one of its Node objects is deleted by someone else.
type nodeWatch struct {
	informer cache.SharedIndexInformer
}

func newNodeWatch(client kubernetes.Interface, typeLabel string) *nodeWatch {
	inf := v1.NewFilteredNodeInformer(client, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = typeLabel })
	return &nodeWatch{informer: inf}
}

func (w *nodeWatch) Run(ctx context.Context, deleted func(name string)) error {
	reg, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				deleted(n.Name)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("nodeagent: node informer handler: %w", err)
	}
	defer func() { _ = w.informer.RemoveEventHandler(reg) }()
	w.informer.Run(ctx.Done())
	return nil
}
