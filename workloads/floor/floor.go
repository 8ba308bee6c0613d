// Package floor measures this machine's floor: the least time the cluster's
// API server needs for what any API-visible scale-out of N pods must do, N
// pod creates and N pod status writes (Running, Ready), sent as a node-side
// client would send them (each pod created already bound, then its status
// written) at unthrottled client QPS and the concurrency that finishes
// soonest. Every system's burst is set over it (k8s/floor, kd/floor): a
// system within a small factor of the floor has little left to gain on this
// machine, whatever its design.
//
// The pods are bound to node names that no node agent serves, so nothing
// else acts on them; the harness's own watch times their Ready, as it does
// every system's pods.
package floor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/internal/kubeclient"
)

// System is the name the floor's measurements carry in results, beside the
// systems': its rows and pods are the floor's.
const System = "floor"

// DefaultConcurrency are the concurrencies Tune tries.
var DefaultConcurrency = []int{8, 32, 128}

// NodePrefix names the nodes the floor's pods are bound to (no agent
// serves them).
const NodePrefix = "kdbench-floor-node-"

// Pod is one pod's milestones, Unix nanoseconds on the harness's clock.
type Pod struct {
	Name string
	Node string
	// Created is when its create returned, Written when its status write
	// returned, Ready when the harness's watch first saw it Ready.
	Created, Written, Ready int64
}

// Result is one measurement.
type Result struct {
	Namespace   string
	Concurrency int
	// Start is just before the first request.
	Start time.Time
	Pods  []Pod
}

// P90 is the p90 over pods of Ready − Start (index ⌊0.9·n⌋ of the sorted
// times, as the bursts' e2e figure), 0 if a pod was never seen Ready.
func (r Result) P90() time.Duration {
	ds := make([]time.Duration, 0, len(r.Pods))
	for _, p := range r.Pods {
		if p.Ready == 0 {
			return 0
		}
		ds = append(ds, time.Duration(p.Ready-r.Start.UnixNano()))
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, 9*len(ds)/10)]
}

// Rate is the API requests' rate: 2N from the first sent to the last
// status write returned (the node agent's load lines print the same for
// a kd burst's node side).
func (r Result) Rate() string {
	var last int64
	for _, p := range r.Pods {
		last = max(last, p.Written)
	}
	span := time.Duration(last - r.Start.UnixNano())
	if span <= 0 {
		return "no requests"
	}
	n := 2 * len(r.Pods)
	return fmt.Sprintf("%d requests in %.0f ms, %.0f/s", n, float64(span)/1e6, float64(n)/span.Seconds())
}

// Config is one measurement.
type Config struct {
	// REST is the cluster's admin config; its rate limit is lifted.
	REST        *rest.Config
	Namespace   string
	Pods        int
	Concurrency int
	// Template is the pod the systems run (labels and spec).
	Template corev1.PodTemplateSpec
	// Nodes the pods spread over (default 20).
	Nodes   int
	Timeout time.Duration
}

// Client returns an unthrottled client for rc (QPS < 0: no rate limiter),
// speaking protobuf as the node agent does (the cheaper encoding is the
// floor's).
func Client(rc *rest.Config) (kubernetes.Interface, error) {
	c := rest.CopyConfig(rc)
	c.QPS, c.Burst, c.RateLimiter = -1, 0, nil
	kubeclient.Protobuf(c)
	c.UserAgent = "kdbench-floor"
	return kubernetes.NewForConfig(c)
}

// Measure creates cfg.Pods pods and writes each one's Ready status with
// cfg.Concurrency workers, and waits until the watch saw them all Ready; it
// deletes the namespace afterwards.
func Measure(ctx context.Context, cfg Config) (res Result, err error) {
	if cfg.Pods <= 0 || cfg.Concurrency <= 0 {
		return res, fmt.Errorf("floor: %d pods at concurrency %d", cfg.Pods, cfg.Concurrency)
	}
	if cfg.Nodes <= 0 {
		cfg.Nodes = 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	cs, err := Client(cfg.REST)
	if err != nil {
		return res, err
	}
	ns := cfg.Namespace
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return res, fmt.Errorf("floor: creating namespace %s: %w", ns, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		err = errors.Join(err, cleanup(dctx, cs, ns))
	}()

	w := newWatcher(cfg.Pods)
	lw := toolscache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "pods", ns, fields.Everything())
	_, inf := toolscache.NewInformerWithOptions(toolscache.InformerOptions{ListerWatcher: lw, ObjectType: &corev1.Pod{}, Handler: w})
	ictx, stop := context.WithCancel(ctx)
	defer stop()
	go inf.Run(ictx.Done())
	if !toolscache.WaitForCacheSync(ictx.Done(), inf.HasSynced) {
		return res, fmt.Errorf("floor: pod watch in %s did not sync: %w", ns, ctx.Err())
	}

	res = Result{Namespace: ns, Concurrency: cfg.Concurrency, Pods: make([]Pod, cfg.Pods)}
	for i := range res.Pods {
		res.Pods[i] = Pod{Name: fmt.Sprintf("floor-%05d", i), Node: fmt.Sprintf("%s%d", NodePrefix, i%cfg.Nodes)}
	}
	next := make(chan int, cfg.Pods)
	for i := range res.Pods {
		next <- i
	}
	close(next)
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	errc := make(chan error, cfg.Concurrency)
	res.Start = time.Now()
	for range cfg.Concurrency {
		go func() {
			for i := range next {
				if err := onePod(wctx, cs, ns, cfg.Template, i, &res.Pods[i]); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	var werr error
	for range cfg.Concurrency {
		werr = errors.Join(werr, <-errc)
	}
	if werr != nil {
		return res, fmt.Errorf("floor: %d pods at concurrency %d in %s: %w", cfg.Pods, cfg.Concurrency, ns, werr)
	}
	if err := w.wait(wctx); err != nil {
		return res, fmt.Errorf("floor: %s: %w", ns, err)
	}
	ready := w.times()
	for i := range res.Pods {
		res.Pods[i].Ready = ready[res.Pods[i].Name]
	}
	return res, nil
}

// onePod creates pod i bound to its node, then writes its Running and
// Ready status, as a node agent does for a pod it runs.
func onePod(ctx context.Context, cs kubernetes.Interface, ns string, tmpl corev1.PodTemplateSpec, i int, out *Pod) error {
	pods := cs.CoreV1().Pods(ns)
	p := &corev1.Pod{ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
	p.Name, p.Namespace, p.Spec.NodeName = out.Name, ns, out.Node
	created, err := pods.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating pod %s: %w", out.Name, err)
	}
	out.Created = time.Now().UnixNano()
	created.Status = runningStatus(created, i, time.Now())
	if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the status of pod %s: %w", out.Name, err)
	}
	out.Written = time.Now().UnixNano()
	return nil
}

// runningStatus is a started pod's status as the node agent writes it:
// Running, every condition true, an IP of its own.
func runningStatus(p *corev1.Pod, i int, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now)
	ip := podIP(i).String()
	host := "192.168.255.1"
	st := corev1.PodStatus{Phase: corev1.PodRunning, HostIP: host, HostIPs: []corev1.HostIP{{IP: host}},
		PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &t, QOSClass: p.Status.QOSClass}
	for _, c := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized,
		corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: t})
	}
	for _, c := range p.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image,
			Ready: true, Started: ptr(true), ContainerID: fmt.Sprintf("kdbench://floor-%d-%s", i, c.Name),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t}}})
	}
	return st
}

func ptr[T any](v T) *T { return &v }

// podIP is pod i's address in 10.64.0.0/10, apart from the node agents'.
func podIP(i int) netip.Addr {
	b := [4]byte{10, 64 + byte(i>>16&0x3f), byte(i >> 8), byte(i)}
	return netip.AddrFrom4(b)
}

// cleanup deletes the pods at once (no kubelet will confirm a graceful
// deletion) and then the namespace, and waits until it is gone.
func cleanup(ctx context.Context, cs kubernetes.Interface, ns string) error {
	zero := int64(0)
	err := cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("floor: deleting the pods of %s: %w", ns, err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("floor: deleting namespace %s: %w", ns, err)
	}
	for {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("floor: namespace %s still terminating: %w", ns, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// watcher records when each pod is first seen Ready.
type watcher struct {
	mu    sync.Mutex
	want  int
	ready map[string]int64
	done  chan struct{}
}

func newWatcher(want int) *watcher {
	return &watcher{want: want, ready: map[string]int64{}, done: make(chan struct{})}
}

func (w *watcher) observe(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok || !isReady(p) {
		return
	}
	now := time.Now().UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, seen := w.ready[p.Name]; seen {
		return
	}
	w.ready[p.Name] = now
	if len(w.ready) == w.want {
		close(w.done)
	}
}

func (w *watcher) OnAdd(obj any, _ bool) { w.observe(obj) }
func (w *watcher) OnUpdate(_, obj any)   { w.observe(obj) }
func (w *watcher) OnDelete(any)          {}
func (w *watcher) wait(ctx context.Context) error {
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		n := len(w.ready)
		w.mu.Unlock()
		return fmt.Errorf("%d of %d pods seen Ready: %w", n, w.want, ctx.Err())
	}
}

func (w *watcher) times() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int64, len(w.ready))
	for k, v := range w.ready {
		out[k] = v
	}
	return out
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
