package adapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/ingress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// UnmanagedSelector selects the objects that keep the API-server path.
const UnmanagedSelector = egress.ManagedLabel + "!=true"

func nsIndexers() toolscache.Indexers {
	return toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc}
}

// apiLW lists and watches one resource in the API server, narrowed by tweak.
func apiLW(c toolscache.Getter, resource string, tweak func(*metav1.ListOptions)) toolscache.ListerWatcher {
	if tweak == nil {
		tweak = func(*metav1.ListOptions) {} // client-go calls it unconditionally
	}
	return toolscache.NewFilteredListWatchFromClient(c, resource, metav1.NamespaceAll, tweak)
}

// PodInformer implements client-go's coreinformers.PodInformer over any informer.
type PodInformer struct {
	Inf toolscache.SharedIndexInformer
}

func (p PodInformer) Informer() toolscache.SharedIndexInformer { return p.Inf }
func (p PodInformer) Lister() corelisters.PodLister {
	return corelisters.NewPodLister(p.Inf.GetIndexer())
}

// ReplicaSetInformer implements appsinformers.ReplicaSetInformer.
type ReplicaSetInformer struct {
	Inf toolscache.SharedIndexInformer
}

func (r ReplicaSetInformer) Informer() toolscache.SharedIndexInformer { return r.Inf }
func (r ReplicaSetInformer) Lister() appslisters.ReplicaSetLister {
	return appslisters.NewReplicaSetLister(r.Inf.GetIndexer())
}

// DeploymentInformer implements appsinformers.DeploymentInformer.
type DeploymentInformer struct {
	Inf toolscache.SharedIndexInformer
}

func (d DeploymentInformer) Informer() toolscache.SharedIndexInformer { return d.Inf }
func (d DeploymentInformer) Lister() appslisters.DeploymentLister {
	return appslisters.NewDeploymentLister(d.Inf.GetIndexer())
}

// PodsLW is the pods a wrapped controller sees: unmanaged pods from the API
// server (narrowed further by apiTweak, e.g. bound only) and managed pods
// from the hop, decorated from their ReplicaSet's template.
func PodsLW(ctx context.Context, cs kubernetes.Interface, src ingress.Source, tmpl *Templates, apiTweak func(*metav1.ListOptions)) toolscache.ListerWatcher {
	api := apiLW(cs.CoreV1().RESTClient(), "pods", func(o *metav1.ListOptions) {
		o.LabelSelector = UnmanagedSelector
		if apiTweak != nil {
			apiTweak(o)
		}
	})
	return &Union{API: api, Hop: ingress.Pods(ctx, src, tmpl.Decorate)}
}

// UnmanagedPodsLW is the pods of a controller whose hop holds none (the
// Deployment controller's): only unmanaged pods, from the API server.
// Managed pods reach it through their ReplicaSets' status, the narrow
// waist, instead of every pod event of a burst.
func UnmanagedPodsLW(cs kubernetes.Interface) toolscache.ListerWatcher {
	return apiLW(cs.CoreV1().RESTClient(), "pods", func(o *metav1.ListOptions) { o.LabelSelector = UnmanagedSelector })
}

// NewPodInformer is a pod informer over PodsLW.
func NewPodInformer(lw toolscache.ListerWatcher) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, nsIndexers())
}

// NewReplicaSetInformer serves every ReplicaSet, managed ones with their
// replicas from the hop's records.
func NewReplicaSetInformer(ctx context.Context, cs kubernetes.Interface, src ingress.Source) toolscache.SharedIndexInformer {
	lw := &Overlay{Ctx: ctx, API: apiLW(cs.AppsV1().RESTClient(), "replicasets", nil), Src: src, Kind: wire.KindReplicaSet,
		SetReplicas: func(o runtime.Object, n int32) runtime.Object {
			rs := o.(*appsv1.ReplicaSet).DeepCopy()
			rs.Spec.Replicas = &n
			return rs
		}}
	return toolscache.NewSharedIndexInformer(lw, &appsv1.ReplicaSet{}, 0, nsIndexers())
}

// NewDeploymentInformer serves every Deployment as the API server has it
// (a scale-subresource write sets a managed one's replicas, as in the
// artifact, whose first hop is the API server), except that a managed
// Deployment the autoscaler's link has sent a scale record for takes its
// replicas from that record.
func NewDeploymentInformer(ctx context.Context, cs kubernetes.Interface, src ingress.Source) toolscache.SharedIndexInformer {
	lw := &Overlay{Ctx: ctx, API: apiLW(cs.AppsV1().RESTClient(), "deployments", nil), Src: src, Kind: wire.KindDeployment,
		SetReplicas: func(o runtime.Object, n int32) runtime.Object {
			d := o.(*appsv1.Deployment).DeepCopy()
			d.Spec.Replicas = &n
			return d
		}}
	return toolscache.NewSharedIndexInformer(lw, &appsv1.Deployment{}, 0, nsIndexers())
}

// Templates fills in what a pod descriptor lacks from its ReplicaSet: the
// template's labels, annotations and spec, and the owner's UID.
//
// Decorate runs in an informer's watch stream, so it must not wait on the
// API server for every event: a ReplicaSet the lister lacks is read from
// the API server once (the lister lags behind the hop only while it starts),
// and one the API server does not have either is not asked for again for
// a while (missTTL). Pods being deleted never wait for a lookup: after a
// namespace's deletion their owners are gone, and a lookup per pod event
// held a whole burst's stream behind the client's rate limiter.
type Templates struct {
	Lister appslisters.ReplicaSetLister
	Client kubernetes.Interface // fallback while the lister lags behind
	mu     sync.Mutex
	cache  map[string]*appsv1.ReplicaSet
	missed map[string]time.Time // not found in the API server, at
	now    func() time.Time     // tests
}

// missTTL is how long a ReplicaSet the API server did not have is not
// looked up again; lookupTimeout bounds one lookup.
const (
	missTTL       = 30 * time.Second
	lookupTimeout = 10 * time.Second
)

// errNoTemplate: the owner is unknown and no lookup is made.
var errNoTemplate = errors.New("kubedirect: owner not in the informer and not looked up")

// ReplicaSet returns the owner of a pod descriptor.
func (t *Templates) ReplicaSet(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	return t.replicaSet(ctx, ns, name, true)
}

func (t *Templates) replicaSet(ctx context.Context, ns, name string, lookup bool) (*appsv1.ReplicaSet, error) {
	key := ns + "/" + name
	if t.Lister != nil {
		if rs, err := t.Lister.ReplicaSets(ns).Get(name); err == nil {
			t.mu.Lock()
			delete(t.cache, key) // the informer has caught up
			t.mu.Unlock()
			return rs, nil
		}
	}
	now := time.Now
	if t.now != nil {
		now = t.now
	}
	t.mu.Lock()
	rs, missedAt := t.cache[key], t.missed[key]
	t.mu.Unlock()
	switch {
	case rs != nil:
		return rs, nil
	case !lookup:
		return nil, errNoTemplate
	case !missedAt.IsZero() && now().Sub(missedAt) < missTTL:
		return nil, fmt.Errorf("kubedirect: template of pods owned by ReplicaSet %s: not found %s ago", key, now().Sub(missedAt).Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	rs, err := t.Client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if apierrors.IsNotFound(err) {
			if t.missed == nil {
				t.missed = map[string]time.Time{}
			}
			t.missed[key] = now()
		}
		return nil, fmt.Errorf("kubedirect: template of pods owned by ReplicaSet %s: %w", key, err)
	}
	if t.cache == nil {
		t.cache = map[string]*appsv1.ReplicaSet{}
	}
	t.cache[key] = rs
	delete(t.missed, key)
	return rs, nil
}

// Decorate is an ingress decorator. A pod whose ReplicaSet cannot be found
// keeps its descriptor-only form rather than vanishing from the informer.
func (t *Templates) Decorate(p *corev1.Pod) error {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return nil
	}
	rs, err := t.replicaSet(context.Background(), p.Namespace, ref.Name, p.DeletionTimestamp == nil)
	if err != nil {
		return nil
	}
	Fill(p, rs)
	return nil
}

// Fill copies rs's template into p, keeping p's identity, node and status.
func Fill(p *corev1.Pod, rs *appsv1.ReplicaSet) {
	for k, v := range rs.Spec.Template.Labels {
		if _, ok := p.Labels[k]; !ok {
			p.Labels[k] = v
		}
	}
	if len(rs.Spec.Template.Annotations) > 0 {
		p.Annotations = make(map[string]string, len(rs.Spec.Template.Annotations))
		for k, v := range rs.Spec.Template.Annotations {
			p.Annotations[k] = v
		}
	}
	node := p.Spec.NodeName
	p.Spec = *rs.Spec.Template.Spec.DeepCopy()
	p.Spec.NodeName = node
	for i := range p.OwnerReferences {
		if p.OwnerReferences[i].Name == rs.Name {
			p.OwnerReferences[i].UID = rs.UID
		}
	}
}

// BoundPods narrows an API pod list to pods bound to a node.
func BoundPods(o *metav1.ListOptions) {
	o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
}
