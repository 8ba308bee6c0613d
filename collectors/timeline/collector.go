// Package timeline timestamps every pod of a burst, and the ReplicaSets and
// Deployments that own them, from the harness's own watches: one
// client-side clock, Unix nanoseconds, the first time each milestone is
// seen. It observes; it never drives.
//
// A Collector follows one namespace for one burst:
//
//	c := timeline.New(cs, ns, labels.Everything(), clock.RealClock{})
//	if err := c.Start(ctx); err != nil { … }      // informers synced, watches open
//	defer c.Stop()
//	c.MarkBurstStart(clk.Now(), map[string]int32{"fn-0": 100})
//	… scale the Deployments …
//	err := c.WaitReady(ctx, 100, progress)
//	pods := c.Records(id, "scale-pods")            // rows for results.Run.AppendPods
//
// Events received before MarkBurstStart are not milestones of the burst, and
// pods first seen before it are not the burst's pods. A milestone that the
// informer learns from a relist rather than a watch event still gets a
// timestamp (when the relist was processed), and ReadyObserved says so, for
// the dropped-events self-check.
package timeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// FunctionLabel names the function (Deployment) a workload object belongs
// to; the workloads set it on Deployments and their pod templates.
const FunctionLabel = "kdbench.io/function"

// kinds in the order Start opens their watches.
const (
	kindPod = iota
	kindRS
	kindDeployment
	numKinds
)

// Collector follows one namespace's pods, ReplicaSets and Deployments.
// Its methods are safe for concurrent use.
type Collector struct {
	clk       clock.PassiveClock
	namespace string
	cs        kubernetes.Interface // reads the nodes a stuck burst waits on
	informers [numKinds]cache.SharedIndexInformer
	lws       [numKinds]*countingLW
	ctx       context.Context // ends the lists, watches and informers
	cancel    context.CancelFunc
	done      chan struct{} // closed when the informers have stopped

	mu      sync.Mutex
	started bool  // MarkBurstStart was called
	start   int64 // burst start, Unix ns
	targets map[string]int32
	pods    map[string]*pod // by UID (name if the UID is empty)
	rs      map[string]*replicaSet
	fns     map[string]*function
	ready   int // burst pods seen Ready
	stats   Stats
	changed chan struct{} // closed and replaced when a pod turns Ready or goes
	onReady func(pod string, sinceStart time.Duration)
}

// New returns a collector for the objects matching sel (nil: all) in
// namespace, timestamped by clk (nil: the real clock). Start it before the
// burst.
func New(cs kubernetes.Interface, namespace string, sel labels.Selector, clk clock.PassiveClock) *Collector {
	if sel == nil {
		sel = labels.Everything()
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Collector{
		clk: clk, namespace: namespace, cs: cs,
		pods: map[string]*pod{}, rs: map[string]*replicaSet{}, fns: map[string]*function{},
		changed: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.ctx, c.cancel = ctx, cancel
	tweak := func(o metav1.ListOptions) metav1.ListOptions {
		o.LabelSelector = sel.String()
		return o
	}
	lw := func(list func(metav1.ListOptions) (runtime.Object, error), w func(metav1.ListOptions) (watch.Interface, error)) *countingLW {
		return newCountingLW(&cache.ListWatch{
			ListFunc:  func(o metav1.ListOptions) (runtime.Object, error) { return list(tweak(o)) },
			WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) { return w(tweak(o)) },
		})
	}
	pods := cs.CoreV1().Pods(namespace)
	rss := cs.AppsV1().ReplicaSets(namespace)
	deps := cs.AppsV1().Deployments(namespace)
	c.lws[kindPod] = lw(
		func(o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		func(o metav1.ListOptions) (watch.Interface, error) { return pods.Watch(ctx, o) })
	c.lws[kindRS] = lw(
		func(o metav1.ListOptions) (runtime.Object, error) { return rss.List(ctx, o) },
		func(o metav1.ListOptions) (watch.Interface, error) { return rss.Watch(ctx, o) })
	c.lws[kindDeployment] = lw(
		func(o metav1.ListOptions) (runtime.Object, error) { return deps.List(ctx, o) },
		func(o metav1.ListOptions) (watch.Interface, error) { return deps.Watch(ctx, o) })
	examples := [numKinds]runtime.Object{&corev1.Pod{}, &appsv1.ReplicaSet{}, &appsv1.Deployment{}}
	for k := range c.informers {
		// No resync: every update a handler sees is a watch event or a relist.
		c.informers[k] = cache.NewSharedIndexInformer(c.lws[k], examples[k], 0, cache.Indexers{})
		_ = c.informers[k].SetTransform(stripManagedFields)
	}
	return c
}

// stripManagedFields keeps the informers' caches small; nothing here reads them.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// OnReady sets a function called, outside the collector's lock, for each
// burst pod the first time it is seen Ready (for live metrics). Set it
// before Start.
func (c *Collector) OnReady(f func(pod string, sinceStart time.Duration)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onReady = f
}

// AddPodHandler has h told about the collector's pod events too, from the
// same watch (a failover case's invariant checker), so that the harness
// opens one pod watch per namespace. Added after Start, h first gets the
// cached pods as adds (client-go's informers).
func (c *Collector) AddPodHandler(h cache.ResourceEventHandler) error {
	if _, err := c.informers[kindPod].AddEventHandler(h); err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	return nil
}

// Start registers the handlers, starts the informers and returns once their
// caches are synced and their watches are open, so that nothing the burst
// does can be missed. It fails if ctx ends first; Stop the collector then.
func (c *Collector) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.done != nil {
		c.mu.Unlock()
		return errors.New("timeline: collector already started")
	}
	c.done = make(chan struct{})
	c.mu.Unlock()
	handlers := [numKinds]cache.ResourceEventHandler{
		kindPod: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.onPod(obj, true) },
			UpdateFunc: func(_, obj any) { c.onPod(obj, false) },
			DeleteFunc: c.onPodDelete,
		},
		kindRS: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.onReplicaSet(obj, eventAdd) },
			UpdateFunc: func(_, obj any) { c.onReplicaSet(obj, eventUpdate) },
			DeleteFunc: func(obj any) { c.onReplicaSet(obj, eventDelete) },
		},
		kindDeployment: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.onDeployment(obj, eventAdd) },
			UpdateFunc: func(_, obj any) { c.onDeployment(obj, eventUpdate) },
			DeleteFunc: func(obj any) { c.onDeployment(obj, eventDelete) },
		},
	}
	for k, inf := range c.informers {
		if _, err := inf.AddEventHandler(handlers[k]); err != nil {
			close(c.done) // nothing runs; Stop must not wait
			return fmt.Errorf("timeline: %w", err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		<-c.ctx.Done()
		close(stop)
	}()
	for _, inf := range c.informers {
		wg.Add(1)
		go func(inf cache.SharedIndexInformer) {
			defer wg.Done()
			inf.Run(stop)
		}(inf)
	}
	go func() {
		wg.Wait()
		close(c.done)
	}()
	synced := make([]cache.InformerSynced, 0, numKinds)
	for _, inf := range c.informers {
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("timeline: informers for %s did not sync: %w", c.namespace, context.Cause(ctx))
	}
	// The reflector opens its watch after the list; wait for it, so that a
	// burst started now is seen through watch events from its first change.
	for {
		open := true
		for _, lw := range c.lws {
			if _, w := lw.counts(); w == 0 {
				open = false
			}
		}
		if open {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timeline: watches for %s did not open: %w", c.namespace, context.Cause(ctx))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Stop ends the informers and waits for them. It is idempotent.
func (c *Collector) Stop() {
	c.cancel()
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

// MarkBurstStart records the burst's start, taken from the collector's
// clock, and each function's (Deployment's) target replica count. A
// collector follows one burst: a second call is an error.
func (c *Collector) MarkBurstStart(t time.Time, targets map[string]int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("timeline: MarkBurstStart called twice; use a new collector per burst")
	}
	c.started, c.start = true, t.UnixNano()
	c.targets = make(map[string]int32, len(targets))
	for fn, n := range targets {
		c.targets[fn] = n
		f := c.function(fn)
		// The direction of the scale decides what "scaled" means for a
		// ReplicaSet or Deployment already known at its old size.
		f.target, f.hasTarget, f.down = n, true, f.replicas > n
	}
	return nil
}

// WaitReady blocks until want burst pods were seen Ready or ctx ends,
// calling progress (if not nil) with the count so far each time it grows.
func (c *Collector) WaitReady(ctx context.Context, want int, progress func(ready, want int)) error {
	last := -1
	for {
		c.mu.Lock()
		n, ch := c.ready, c.changed
		c.mu.Unlock()
		if progress != nil && n != last {
			progress(n, want)
			last = n
		}
		if n >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			err := fmt.Errorf("%d of %d pods Ready in %s: %w", n, want, c.namespace, context.Cause(ctx))
			if where := whereStuck(context.WithoutCancel(ctx), c.podsNow(), c.cs); where != "" {
				err = fmt.Errorf("%w; %s", err, where)
			}
			return err
		case <-ch:
		}
	}
}

// podsNow are the pods in the informer's cache.
func (c *Collector) podsNow() []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range c.informers[kindPod].GetStore().List() {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// WaitGone blocks until no pod matching the selector is left in the
// namespace (after a scale to zero), or ctx ends.
func (c *Collector) WaitGone(ctx context.Context) error {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		// The cache is updated before the handlers run, so a deletion has
		// removed its pod by the time it wakes us.
		n := len(c.informers[kindPod].GetStore().ListKeys())
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d pods still in %s: %w", n, c.namespace, context.Cause(ctx))
		case <-ch:
		}
	}
}

// Ready returns how many burst pods were seen Ready.
func (c *Collector) Ready() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// ReadyObserved maps each burst pod seen Ready (by name) to whether a watch
// event showed it Ready; false means only a relist did, so the watch
// dropped or never delivered that event.
func (c *Collector) ReadyObserved() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, p := range c.pods {
		if p.burst && p.ready != 0 {
			out[p.name] = !p.readyFromList
		}
	}
	return out
}

// notifyLocked wakes the waiters; call it with c.mu held.
func (c *Collector) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
