package gateway

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Dialer makes the Instance of a Ready pod.
type Dialer func(pod *corev1.Pod) (Instance, error)

// PodSource keeps a gateway's instances equal to the Ready pods of each
// function, as an informer sees them. A pod belongs to the function named by
// its label; a pod being deleted is no longer an instance. Instances that are
// io.Closers are closed when their pod is gone from the API server (not
// before: a pod being deleted finishes what it runs).
type PodSource struct {
	gw    *Gateway
	label string
	dial  Dialer
	logf  func(string, ...any)

	mu     sync.Mutex
	fns    map[string]map[string]Instance // function → pod name → serving instance
	dialed map[string]Instance            // pod name → instance, until the pod is gone
}

// WatchPods runs a PodSource for the pods of namespace until ctx ends; it
// returns once the informer has synced.
func WatchPods(ctx context.Context, client kubernetes.Interface, namespace, label string, gw *Gateway,
	dial Dialer, logf func(string, ...any)) (*PodSource, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &PodSource{gw: gw, label: label, dial: dial, logf: logf, fns: map[string]map[string]Instance{}, dialed: map[string]Instance{}}
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.update(o) },
		UpdateFunc: func(_, o any) { s.update(o) },
		DeleteFunc: s.remove,
	}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("gateway: pod informer of namespace %s did not sync", namespace)
	}
	return s, nil
}

// servable says whether a pod can take invocations.
func servable(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (s *PodSource) update(o any) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	fn := p.Labels[s.label]
	if fn == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pods := s.fns[fn]
	_, had := pods[p.Name]
	switch want := servable(p); {
	case want && !had:
		in := s.dialed[p.Name]
		if in == nil {
			var err error
			if in, err = s.dial(p); err != nil {
				s.logf("gateway: pod %s/%s of %s: %v", p.Namespace, p.Name, fn, err)
				return
			}
			s.dialed[p.Name] = in
		}
		if pods == nil {
			pods = map[string]Instance{}
			s.fns[fn] = pods
		}
		pods[p.Name] = in
	case !want && had:
		delete(pods, p.Name)
	default:
		return
	}
	s.publishLocked(fn)
}

func (s *PodSource) remove(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	fn := p.Labels[s.label]
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.dialed[p.Name].(io.Closer); ok {
		if err := c.Close(); err != nil {
			s.logf("gateway: closing pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	delete(s.dialed, p.Name)
	if _, had := s.fns[fn][p.Name]; had {
		delete(s.fns[fn], p.Name)
		s.publishLocked(fn)
	}
}

// publishLocked hands the function's instances to the gateway; called with
// s.mu held so the gateway sees changes in order.
func (s *PodSource) publishLocked(fn string) {
	names := make([]string, 0, len(s.fns[fn]))
	for n := range s.fns[fn] {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Instance, len(names))
	for i, n := range names {
		out[i] = s.fns[fn][n]
	}
	s.gw.SetInstances(fn, out)
}
