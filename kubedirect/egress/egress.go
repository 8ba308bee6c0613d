// Package egress turns a wrapped controller's writes of Kubedirect-managed
// objects into link records: scale intents, pod creations, tombstones
// (deletions and preemptions), bindings, and the node agent's status.
// Objects without the managed label never come here: callers check Managed
// and send everything else to the API server untouched.
package egress

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Labels and annotations Kubedirect uses on objects.
const (
	// ManagedLabel marks objects (Deployments, their ReplicaSets and pod
	// templates) whose scale-out path goes over Kubedirect links.
	ManagedLabel = "kubedirect.io/managed"
	// TemplateLabel carries a pod's template reference (e.g. pod-template-hash).
	TemplateLabel = "kubedirect.io/template"
	// AgentAnnotation on a Node is the address of the link of the node
	// agent that runs its managed pods (direct mode); the scheduler hop
	// routes each bound pod there. A node without it takes no managed pod.
	AgentAnnotation = "kubedirect.io/agent"
)

// Managed reports whether obj is Kubedirect-managed.
func Managed(obj metav1.Object) bool {
	return obj != nil && obj.GetLabels()[ManagedLabel] == "true"
}

// Hop is what the egress writes to (a *hop.Runtime).
type Hop interface {
	Store() *cache.Store
	Write(ctx context.Context, recs ...wire.Record) error
}

// Writer is the contract the controllers' client wrappers call.
type Writer interface {
	// Scale sets the desired replicas of a Deployment or ReplicaSet downstream.
	Scale(ctx context.Context, kind wire.Kind, namespace, name string, replicas int32) error
	// CreatePod creates a pending pod; a missing name is generated from
	// GenerateName and a missing UID assigned, and the pod is returned.
	CreatePod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error)
	// DeletePod tombstones a pod (downscale or preemption); idempotent.
	DeletePod(ctx context.Context, namespace, name string) error
	// Bind binds a pod to a node (scheduler).
	Bind(ctx context.Context, binding *corev1.Binding) error
	// SetRunning reports a pod's sandbox running (node agent).
	SetRunning(ctx context.Context, namespace, name string) error
	// SetTerminated confirms a tombstone: the sandbox is gone (node agent, or a
	// scheduler for a pod it never bound).
	SetTerminated(ctx context.Context, namespace, name string) error
}

// New returns the Writer of a hop.
func New(h Hop) Writer { return &writer{h: h} }

type writer struct{ h Hop }

var podResource = schema.GroupResource{Resource: "pods"}

func (w *writer) Scale(ctx context.Context, kind wire.Kind, namespace, name string, replicas int32) error {
	if kind != wire.KindDeployment && kind != wire.KindReplicaSet {
		return fmt.Errorf("egress: scale %s/%s: kind %s has no scale", namespace, name, kind)
	}
	if replicas < 0 {
		return apierrors.NewBadRequest(fmt.Sprintf("egress: scale %s %s/%s to %d replicas", kind, namespace, name, replicas))
	}
	rec := wire.Record{Kind: kind, Namespace: namespace, Name: name, Replicas: replicas}
	if cur, ok := w.h.Store().Get(rec.Key()); ok {
		rec.Owner, rec.Template = cur.Owner, cur.Template
	}
	return w.h.Write(ctx, rec)
}

// PodRecord converts a pod to its link descriptor.
func PodRecord(pod *corev1.Pod) (wire.Record, error) {
	r := wire.Record{Kind: wire.KindPod, Phase: wire.PhasePending, Namespace: pod.Namespace, Name: pod.Name,
		UID: string(pod.UID), Node: pod.Spec.NodeName, Template: pod.Labels[TemplateLabel],
		CreatedNs: pod.CreationTimestamp.UnixNano()}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		r.Owner = ref.Name
	}
	if r.Node != "" {
		r.Phase = wire.PhaseBound
	}
	if pod.DeletionTimestamp != nil {
		r.Phase = wire.PhaseTerminating
	}
	if pod.CreationTimestamp.IsZero() {
		r.CreatedNs = 0
	}
	return r, r.Validate()
}

func (w *writer) CreatePod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	p, rec, err := newPod(pod)
	if err != nil {
		return nil, err
	}
	if _, exists := w.h.Store().Get(rec.Key()); exists {
		return nil, apierrors.NewAlreadyExists(podResource, p.Name)
	}
	if err := w.h.Write(ctx, rec); err != nil {
		return nil, err
	}
	return p, nil
}

// newPod completes a pod to create (name, UID, creation time) and returns
// it with its record.
func newPod(pod *corev1.Pod) (*corev1.Pod, wire.Record, error) {
	if !Managed(pod) {
		return nil, wire.Record{}, fmt.Errorf("egress: pod %s/%s%s is not Kubedirect-managed", pod.Namespace, pod.Name, pod.GenerateName)
	}
	p := pod.DeepCopy()
	if p.Name == "" {
		if p.GenerateName == "" {
			return nil, wire.Record{}, apierrors.NewBadRequest("egress: pod has neither name nor generateName")
		}
		p.Name = p.GenerateName + randomSuffix()
	}
	if p.UID == "" {
		p.UID = types.UID(randomUID())
	}
	if p.CreationTimestamp.IsZero() {
		p.CreationTimestamp = metav1.Now()
	}
	rec, err := PodRecord(p)
	if err != nil {
		return nil, wire.Record{}, apierrors.NewBadRequest(err.Error())
	}
	return p, rec, nil
}

// advance moves an existing pod record forward (the merge never moves back).
func (w *writer) advance(ctx context.Context, namespace, name string, f func(*wire.Record)) error {
	r, ok := w.h.Store().Get(wire.Key{Kind: wire.KindPod, Namespace: namespace, Name: name})
	if !ok {
		return apierrors.NewNotFound(podResource, name)
	}
	f(&r)
	return w.h.Write(ctx, r)
}

func (w *writer) DeletePod(ctx context.Context, namespace, name string) error {
	return w.advance(ctx, namespace, name, func(r *wire.Record) { r.Phase = max(r.Phase, wire.PhaseTerminating) })
}

func (w *writer) Bind(ctx context.Context, b *corev1.Binding) error {
	if b.Target.Name == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("egress: binding of %s/%s has no target node", b.Namespace, b.Name))
	}
	return w.advance(ctx, b.Namespace, b.Name, func(r *wire.Record) {
		if r.Node != "" && r.Node != b.Target.Name {
			return // already bound elsewhere; set-once merge keeps the first
		}
		r.Node, r.Phase = b.Target.Name, max(r.Phase, wire.PhaseBound)
	})
}

func (w *writer) SetRunning(ctx context.Context, namespace, name string) error {
	return w.advance(ctx, namespace, name, func(r *wire.Record) { r.Phase = max(r.Phase, wire.PhaseRunning) })
}

func (w *writer) SetTerminated(ctx context.Context, namespace, name string) error {
	return w.advance(ctx, namespace, name, func(r *wire.Record) { r.Phase = wire.PhaseTerminated })
}

const suffixChars = "bcdfghjklmnpqrstvwxz2456789" // as k8s' utilrand.String

func randomSuffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = suffixChars[int(b[i])%len(suffixChars)]
	}
	return string(b[:])
}

func randomUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
