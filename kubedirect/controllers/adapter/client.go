package adapter

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/ingress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Client is the egress side of a wrapped controller: a kubernetes.Interface
// that turns writes of Kubedirect-managed objects into link records and
// passes everything else to the API server untouched.
//
//   - pods: Create of a managed pod, Delete and Bind of a pod the hop holds
//     go over the link; status writes (Patch, UpdateStatus, ApplyStatus) of
//     such pods are dropped (the node agent owns their API status) and Get
//     answers from the hop;
//   - ReplicaSets and Deployments: Update of a managed object sends its
//     spec.replicas over the link when it differs from the hop's record,
//     then writes the object to the API server in the background (labels,
//     annotations, the API's copy of replicas: off the critical path);
//     status writes of managed objects go to the API server in the
//     background too: they report, and a controller blocked on its rate
//     limiter for them would delay the next object's scale-out (N functions
//     scaled at once queue behind N status writes at the default 20 QPS).
type Client struct {
	kubernetes.Interface
	W     egress.Writer
	Store *cache.Store
	// Background runs the API write of a managed object's Update (default:
	// a goroutine); tests make it synchronous.
	Background func(func())
	writes     writes
	statuses   statuses
}

// NewClient wraps api with the hop's egress.
func NewClient(api kubernetes.Interface, w egress.Writer, store *cache.Store) *Client {
	return &Client{Interface: api, W: w, Store: store}
}

// background runs the API write f of the object under key off the
// controller's path, coalesced with the other writes of key (writes).
func (c *Client) background(key string, f func()) {
	run := c.Background
	if run == nil {
		run = func(f func()) { go f() }
	}
	c.writes.do(key, f, run)
}

func (c *Client) pod(ns, name string) (wire.Record, bool) {
	return c.Store.Get(wire.Key{Kind: wire.KindPod, Namespace: ns, Name: name})
}

func (c *Client) CoreV1() corev1client.CoreV1Interface {
	return coreV1{CoreV1Interface: c.Interface.CoreV1(), c: c}
}

func (c *Client) AppsV1() appsv1client.AppsV1Interface {
	return appsV1{AppsV1Interface: c.Interface.AppsV1(), c: c}
}

type coreV1 struct {
	corev1client.CoreV1Interface
	c *Client
}

func (x coreV1) Pods(ns string) corev1client.PodInterface {
	return pods{PodInterface: x.CoreV1Interface.Pods(ns), c: x.c, ns: ns}
}

type pods struct {
	corev1client.PodInterface
	c  *Client
	ns string
}

func (p pods) Create(ctx context.Context, pod *corev1.Pod, opts metav1.CreateOptions) (*corev1.Pod, error) {
	if !egress.Managed(pod) {
		return p.PodInterface.Create(ctx, pod, opts)
	}
	if pod.Namespace == "" {
		pod = pod.DeepCopy()
		pod.Namespace = p.ns
	}
	return p.c.W.CreatePod(ctx, pod)
}

func (p pods) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	if _, ok := p.c.pod(p.ns, name); ok {
		return p.c.W.DeletePod(ctx, p.ns, name)
	}
	return p.PodInterface.Delete(ctx, name, opts)
}

func (p pods) Bind(ctx context.Context, b *corev1.Binding, opts metav1.CreateOptions) error {
	if _, ok := p.c.pod(p.ns, b.Name); ok {
		if b.Namespace == "" {
			b = b.DeepCopy()
			b.Namespace = p.ns
		}
		return p.c.W.Bind(ctx, b)
	}
	return p.PodInterface.Bind(ctx, b, opts)
}

func (p pods) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error) {
	if r, ok := p.c.pod(p.ns, name); ok {
		return ingress.PodFromRecord(&r), nil
	}
	return p.PodInterface.Get(ctx, name, opts)
}

func (p pods) UpdateStatus(ctx context.Context, pod *corev1.Pod, opts metav1.UpdateOptions) (*corev1.Pod, error) {
	if _, ok := p.c.pod(p.ns, pod.Name); ok {
		return pod, nil
	}
	return p.PodInterface.UpdateStatus(ctx, pod, opts)
}

func (p pods) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*corev1.Pod, error) {
	if r, ok := p.c.pod(p.ns, name); ok {
		return ingress.PodFromRecord(&r), nil
	}
	return p.PodInterface.Patch(ctx, name, pt, data, opts, sub...)
}

func (p pods) ApplyStatus(ctx context.Context, pod *applycorev1.PodApplyConfiguration, opts metav1.ApplyOptions) (*corev1.Pod, error) {
	if pod.Name != nil {
		if r, ok := p.c.pod(p.ns, *pod.Name); ok {
			return ingress.PodFromRecord(&r), nil
		}
	}
	return p.PodInterface.ApplyStatus(ctx, pod, opts)
}

type appsV1 struct {
	appsv1client.AppsV1Interface
	c *Client
}

func (x appsV1) ReplicaSets(ns string) appsv1client.ReplicaSetInterface {
	return replicaSets{ReplicaSetInterface: x.AppsV1Interface.ReplicaSets(ns), c: x.c, ns: ns}
}

func (x appsV1) Deployments(ns string) appsv1client.DeploymentInterface {
	return deployments{DeploymentInterface: x.AppsV1Interface.Deployments(ns), c: x.c, ns: ns}
}

// scale sends replicas over the link unless the hop already has them.
func (c *Client) scale(ctx context.Context, kind wire.Kind, ns, name string, replicas int32) error {
	if r, ok := c.Store.Get(wire.Key{Kind: kind, Namespace: ns, Name: name}); ok && r.Replicas == replicas {
		return nil
	}
	return c.W.Scale(ctx, kind, ns, name, replicas)
}

type replicaSets struct {
	appsv1client.ReplicaSetInterface
	c  *Client
	ns string
}

func (r replicaSets) Update(ctx context.Context, rs *appsv1.ReplicaSet, opts metav1.UpdateOptions) (*appsv1.ReplicaSet, error) {
	if !egress.Managed(rs) || rs.Spec.Replicas == nil {
		return r.ReplicaSetInterface.Update(ctx, rs, opts)
	}
	if err := r.c.scale(ctx, wire.KindReplicaSet, r.ns, rs.Name, *rs.Spec.Replicas); err != nil {
		return nil, err
	}
	api := rs.DeepCopy()
	api.ResourceVersion = APIResourceVersion(api.ResourceVersion)
	r.c.background("replicasets/"+r.ns+"/"+rs.Name, func() {
		if _, err := r.ReplicaSetInterface.Update(context.WithoutCancel(ctx), api, opts); err != nil {
			klog.FromContext(ctx).V(2).Info("Background API write of a managed ReplicaSet failed; the controller retries", "replicaSet", klog.KObj(api), "err", err)
		}
	})
	return rs, nil
}

func (r replicaSets) UpdateStatus(ctx context.Context, rs *appsv1.ReplicaSet, opts metav1.UpdateOptions) (*appsv1.ReplicaSet, error) {
	if !egress.Managed(rs) {
		return r.ReplicaSetInterface.UpdateStatus(ctx, rs, opts)
	}
	backgroundStatus(ctx, r.c, "replicasets/"+r.ns, rs.DeepCopy(), *rs.Status.DeepCopy(),
		func(ctx context.Context, api *appsv1.ReplicaSet) error {
			_, err := r.ReplicaSetInterface.UpdateStatus(ctx, api, opts)
			return err
		})
	return rs, nil
}

type deployments struct {
	appsv1client.DeploymentInterface
	c  *Client
	ns string
}

func (d deployments) Update(ctx context.Context, dp *appsv1.Deployment, opts metav1.UpdateOptions) (*appsv1.Deployment, error) {
	if !egress.Managed(dp) {
		return d.DeploymentInterface.Update(ctx, dp, opts)
	}
	api := dp.DeepCopy()
	api.ResourceVersion = APIResourceVersion(api.ResourceVersion)
	return d.DeploymentInterface.Update(ctx, api, opts)
}

func (d deployments) UpdateStatus(ctx context.Context, dp *appsv1.Deployment, opts metav1.UpdateOptions) (*appsv1.Deployment, error) {
	if !egress.Managed(dp) {
		return d.DeploymentInterface.UpdateStatus(ctx, dp, opts)
	}
	backgroundStatus(ctx, d.c, "deployments/"+d.ns, dp.DeepCopy(), *dp.Status.DeepCopy(),
		func(ctx context.Context, api *appsv1.Deployment) error {
			_, err := d.DeploymentInterface.UpdateStatus(ctx, api, opts)
			return err
		})
	return dp, nil
}

// backgroundStatus writes the status of a managed object (a copy, under
// prefix: "<resource>/<namespace>") with write, off the controller's path,
// unless it is the last status written.
func backgroundStatus[T metav1.Object](ctx context.Context, c *Client, prefix string, obj T, status any, write func(context.Context, T) error) {
	key := prefix + "/" + obj.GetName() + "/status"
	if c.statuses.seen(key, obj.GetUID(), status) {
		return
	}
	api := unconditional(obj)
	c.background(key, func() {
		if err := write(context.WithoutCancel(ctx), api); err != nil {
			c.statuses.failed(key)
			klog.FromContext(ctx).V(2).Info("Background status write of a managed object failed; the controller retries", "object", key, "err", err)
		}
	})
}

// unconditional clears the resourceVersion of a managed object's status
// write: its controller is the status's only writer, and a coalesced write
// carries the version read before the write it follows, which would
// conflict (409) and leave the API's status stale.
func unconditional[T metav1.Object](o T) T {
	o.SetResourceVersion("")
	return o
}
