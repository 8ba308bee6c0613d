// Package timeline timestamps every pod of a burst and its ReplicaSet from
// the harness's own watch: one client-side clock, nanoseconds, first time
// each milestone is seen. It observes; it never drives.
package timeline

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/collectors/results"
)

// FunctionLabel names the function (Deployment) a workload pod belongs to.
const FunctionLabel = "kdbench.io/function"

// pod is what the collector knows of one pod; times are Unix ns, 0 = unseen.
type pod struct {
	namespace, name, function, node, rs             string
	created, scheduled, bound, running, ready, gone int64
	// readyViaWatch is false when Ready was only learnt from a relist
	// (informer resync/replace), which the dropped-events check counts.
	readyViaWatch bool
}

// Stats counts the events the collector received.
type Stats struct {
	PodAdds, PodUpdates, PodDeletes, RSEvents int
	// ReadyNotViaWatch counts pods whose Ready was seen only in a relist.
	ReadyNotViaWatch int
}

// Collector follows one namespace's pods and ReplicaSets.
type Collector struct {
	clk     clock.PassiveClock
	factory informers.SharedInformerFactory
	podInf  cache.SharedIndexInformer
	rsInf   cache.SharedIndexInformer

	mu       sync.Mutex
	started  bool
	start    int64
	targets  map[string]int32 // function → desired replicas
	rsScaled map[string]int64 // ReplicaSet name → first seen scaled
	rsFn     map[string]string
	pods     map[string]*pod
	ready    int
	stats    Stats
	changed  chan struct{} // closed and replaced on every Ready
	cancel   context.CancelFunc
}

// New returns a collector for the pods matching sel in namespace.
func New(cs kubernetes.Interface, namespace string, sel labels.Selector, clk clock.PassiveClock) *Collector {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }))
	c := &Collector{clk: clk, factory: f, podInf: f.Core().V1().Pods().Informer(), rsInf: f.Apps().V1().ReplicaSets().Informer(),
		rsScaled: map[string]int64{}, rsFn: map[string]string{}, pods: map[string]*pod{}, changed: make(chan struct{})}
	return c
}

// Start registers the handlers, starts the informers and waits for their sync.
func (c *Collector) Start(ctx context.Context) error {
	if _, err := c.podInf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			c.onPod(obj, !initial, true)
		},
		UpdateFunc: func(old, obj any) {
			// A resync or relist delivers an update whose resourceVersion did not change.
			viaWatch := old.(*corev1.Pod).ResourceVersion != obj.(*corev1.Pod).ResourceVersion
			c.onPod(obj, viaWatch, false)
		},
		DeleteFunc: c.onPodDelete,
	}); err != nil {
		return err
	}
	if _, err := c.rsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onRS,
		UpdateFunc: func(_, obj any) { c.onRS(obj) },
	}); err != nil {
		return err
	}
	ictx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.factory.Start(ictx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.podInf.HasSynced, c.rsInf.HasSynced) {
		cancel()
		return fmt.Errorf("timeline: informers did not sync: %w", ctx.Err())
	}
	return nil
}

// Stop ends the informers.
func (c *Collector) Stop() {
	if c.cancel != nil {
		c.cancel()
		c.factory.Shutdown()
	}
}

// MarkBurstStart sets the burst's start and each function's target; events
// before it are not milestones of this burst.
func (c *Collector) MarkBurstStart(t time.Time, targets map[string]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started, c.start, c.targets = true, t.UnixNano(), targets
}

func (c *Collector) now() int64 { return c.clk.Now().UnixNano() }

func (c *Collector) onRS(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.RSEvents++
	fn := deploymentOf(rs.OwnerReferences, rs.Labels)
	c.rsFn[rs.Name] = fn
	if !c.started || c.rsScaled[rs.Name] != 0 || rs.Spec.Replicas == nil {
		return
	}
	if want, ok := c.targets[fn]; ok && *rs.Spec.Replicas >= want {
		c.rsScaled[rs.Name] = now
	}
}

func (c *Collector) onPod(obj any, viaWatch, isAdd bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if isAdd {
		c.stats.PodAdds++
	} else {
		c.stats.PodUpdates++
	}
	if !c.started {
		return
	}
	r := c.pods[p.Name]
	if r == nil {
		r = &pod{namespace: p.Namespace, name: p.Name, created: now}
		c.pods[p.Name] = r
	}
	r.function = p.Labels[FunctionLabel]
	for _, o := range p.OwnerReferences {
		if o.Kind == "ReplicaSet" {
			r.rs = o.Name
		}
	}
	set := func(t *int64, cond bool) {
		if cond && *t == 0 {
			*t = now
		}
	}
	if p.Spec.NodeName != "" {
		r.node = p.Spec.NodeName
		set(&r.bound, true)
	}
	set(&r.scheduled, conditionTrue(p, corev1.PodScheduled))
	set(&r.running, p.Status.Phase == corev1.PodRunning)
	if r.ready == 0 && p.DeletionTimestamp == nil && conditionTrue(p, corev1.PodReady) {
		r.ready, r.readyViaWatch = now, viaWatch
		if !viaWatch {
			c.stats.ReadyNotViaWatch++
		}
		c.ready++
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

func (c *Collector) onPodDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.PodDeletes++
	if r := c.pods[p.Name]; r != nil && r.gone == 0 {
		r.gone = now
	}
}

// WaitReady blocks until want pods were seen Ready, calling progress on each.
func (c *Collector) WaitReady(ctx context.Context, want int, progress func(ready, want int)) error {
	for {
		c.mu.Lock()
		n, ch := c.ready, c.changed
		c.mu.Unlock()
		if progress != nil {
			progress(n, want)
		}
		if n >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d pods Ready: %w", n, want, ctx.Err())
		case <-ch:
		}
	}
}

// Ready returns how many pods were seen Ready.
func (c *Collector) Ready() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// ReadyNames returns the names of the pods seen Ready.
func (c *Collector) ReadyNames() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for n, p := range c.pods {
		if p.ready != 0 {
			out[n] = p.readyViaWatch
		}
	}
	return out
}

// Stats returns the event counts so far.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Records returns one row per pod seen during the burst, sorted by name.
func (c *Collector) Records(id results.RepID, experiment string) []results.PodRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]results.PodRecord, 0, len(c.pods))
	for _, p := range c.pods {
		fn := p.function
		if fn == "" {
			fn = c.rsFn[p.rs]
		}
		out = append(out, results.PodRecord{
			System: id.System, QPSProfile: id.QPSProfile, Experiment: experiment, Size: id.Size, Rep: id.Rep, Warmup: id.Warmup,
			Namespace: p.namespace, Function: fn, Pod: p.name, Node: p.node,
			BurstStart: c.start, RSScaled: c.rsScaled[p.rs], Created: p.created, Scheduled: p.scheduled,
			Bound: p.bound, Running: p.running, Ready: p.ready, Deleted: p.gone,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod < out[j].Pod })
	return out
}

func conditionTrue(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deploymentOf names the Deployment owning a ReplicaSet, or its function label.
func deploymentOf(refs []metav1.OwnerReference, lbl map[string]string) string {
	for _, o := range refs {
		if o.Kind == "Deployment" {
			return o.Name
		}
	}
	return lbl[FunctionLabel]
}
