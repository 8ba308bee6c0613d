// Package burst drives the paper's scale-out microbenchmarks: Deployments are
// created at zero replicas beforehand, then scaled at once, and each pod's
// Ready time is taken from the client's watch.
package burst

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// FunctionLabel marks every object a burst creates, so one selector finds them.
const FunctionLabel = "kdbench.io/function"

// Deployment returns the workload Deployment for one function: a sleeping
// container as in the artifact, 0 replicas, grace period 5 s.
func Deployment(namespace, name string, replicas int32) *appsv1.Deployment {
	lbl := map[string]string{FunctionLabel: name}
	grace := int64(5)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "fn", Image: "alpine:3.20", Command: []string{"sleep", "infinity"},
						ImagePullPolicy: corev1.PullIfNotPresent,
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: mustQuantity("10m"), corev1.ResourceMemory: mustQuantity("16Mi"),
						}},
					}},
				},
			},
		},
	}
}

// PrepareTimeout bounds the wait for the Deployments' ReplicaSets.
var PrepareTimeout = 2 * time.Minute

// lastWarning returns the namespace's most recent Warning event, which
// usually says why a controller is stuck.
func lastWarning(ctx context.Context, cs kubernetes.Interface, namespace string) string {
	evs, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	e := evs.Items[len(evs.Items)-1]
	return fmt.Sprintf(" (last warning, %s %s: %s)", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
}

// Prepare creates the namespace and the functions' Deployments at zero
// replicas and waits until each has its ReplicaSet, so the measured burst
// starts from a quiet cluster.
func Prepare(ctx context.Context, cs kubernetes.Interface, namespace string, functions []string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	for _, fn := range functions {
		_, err := cs.AppsV1().Deployments(namespace).Create(ctx, Deployment(namespace, fn, 0), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating deployment %s/%s: %w", namespace, fn, err)
		}
	}
	deadline := time.After(PrepareTimeout)
	for {
		rss, err := cs.AppsV1().ReplicaSets(namespace).List(ctx, metav1.ListOptions{LabelSelector: FunctionLabel})
		if err != nil {
			return err
		}
		if len(rss.Items) >= len(functions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d ReplicaSets in %s (have %d): %w", len(functions), namespace, len(rss.Items), ctx.Err())
		case <-deadline:
			return fmt.Errorf("the deployment controller created %d of %d ReplicaSets in %s within %s%s",
				len(rss.Items), len(functions), namespace, PrepareTimeout, lastWarning(ctx, cs, namespace))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Result is one burst's outcome: when it started and when each pod was seen Ready.
type Result struct {
	Start time.Time
	// Ready maps pod name to the time its Ready condition was first observed.
	Ready map[string]time.Time
	Want  int
}

// Latencies returns the pods' Ready − Start, sorted.
func (r *Result) Latencies() []time.Duration {
	out := make([]time.Duration, 0, len(r.Ready))
	for _, t := range r.Ready {
		out = append(out, t.Sub(r.Start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Percentile returns the artifact's percentile: sorted values at index ⌊p·n⌋.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// Scale sets each function's replicas to n at once (requests in parallel,
// the clock started right before them) and waits until want pods in the
// namespace are Ready. progress, if not nil, is called as pods turn Ready.
func Scale(ctx context.Context, cs kubernetes.Interface, namespace string, functions []string, n int32, progress func(ready, want int)) (*Result, error) {
	want := len(functions) * int(n)
	res := &Result{Ready: map[string]time.Time{}, Want: want}
	var mu sync.Mutex
	done := make(chan struct{})
	observe := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || !podReady(pod) {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if _, seen := res.Ready[pod.Name]; seen || res.Start.IsZero() {
			return
		}
		res.Ready[pod.Name] = now
		if progress != nil {
			progress(len(res.Ready), want)
		}
		if len(res.Ready) == want {
			close(done)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = FunctionLabel }))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
	}); err != nil {
		return nil, err
	}
	ictx, stop := context.WithCancel(ctx)
	defer stop()
	factory.Start(ictx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("pod informer did not sync: %w", ctx.Err())
	}
	if existing, _ := factory.Core().V1().Pods().Lister().Pods(namespace).List(labels.Everything()); len(existing) > 0 {
		return nil, fmt.Errorf("namespace %s already has %d workload pods; a burst must start from zero", namespace, len(existing))
	}

	mu.Lock()
	res.Start = time.Now()
	mu.Unlock()
	errs := make(chan error, len(functions))
	for _, fn := range functions {
		go func(fn string) {
			_, err := cs.AppsV1().Deployments(namespace).UpdateScale(ctx, fn, autoscalingScale{namespace, fn, n}.obj(), metav1.UpdateOptions{})
			if err != nil {
				err = fmt.Errorf("scaling %s/%s to %d: %w", namespace, fn, n, err)
			}
			errs <- err
		}(fn)
	}
	for range functions {
		if err := <-errs; err != nil {
			return res, err
		}
	}
	if want == 0 {
		return res, nil
	}
	select {
	case <-done:
		return res, nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return res, fmt.Errorf("%d of %d pods Ready when interrupted: %w", len(res.Ready), want, ctx.Err())
	}
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
