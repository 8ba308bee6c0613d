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
	// PodGone reports that the pod object no longer exists. A pod without a
	// UID names, by its IdentityAnnotation, one that arrived over a link.
	PodGone(pod *corev1.Pod)
	// PodArriving reports a pod bound to one of the agent's nodes that is
	// not in the API server yet (Kubedirect's direct mode: the bind came
	// over a link and the source creates the pod concurrently). Its sandbox
	// starts now; pod has no UID and carries its link identity in
	// IdentityAnnotation. Its Running and Ready status is written once
	// PodBound brings the API object with that identity and the sandbox
	// delay, counted from now, has passed.
	PodArriving(pod *corev1.Pod)
}

// PodSource feeds a PodSink. The agent always runs the informer source; the seam is for
// Kubedirect's direct mode, where the scheduler hands pods straight to the agent over
// a link and the source creates them in the API server (PodArriving, then PodBound).
type PodSource interface {
	// Run feeds sink until ctx is done, then returns after its goroutines exit.
	Run(ctx context.Context, sink PodSink) error
	// HasSynced reports whether the source has delivered its initial state.
	HasSynced() bool
}

// Claimer is a PodSource that owns some pods (a direct source: the managed
// pods of the agent's nodes). The informer only updates the claimed pods the
// lifecycle already tracks (and restores running ones after a restart); it
// never starts one, which is the claiming source's job.
type Claimer interface {
	Claims(pod *corev1.Pod) bool
}

// boundPodsSelector matches pods that the scheduler (or anyone) has bound to a node.
const boundPodsSelector = "spec.nodeName!="

// informerSource is one shared pod informer for all of the agent's nodes.
type informerSource struct {
	informer cache.SharedIndexInformer
	claimed  []Claimer
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

// bound hands a bound pod to sink, or only updates it if another source
// claims it.
func (s *informerSource) bound(sink PodSink, pod *corev1.Pod) {
	for _, c := range s.claimed {
		if c.Claims(pod) {
			if l, ok := sink.(*lifecycle); ok {
				l.podUpdated(pod)
			}
			return
		}
	}
	sink.PodBound(pod)
}

func (s *informerSource) Run(ctx context.Context, sink PodSink) error {
	reg, err := s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
				s.bound(sink, pod)
			}
		},
		UpdateFunc: func(_, obj any) {
			if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
				s.bound(sink, pod)
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
