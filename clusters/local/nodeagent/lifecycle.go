package nodeagent

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// PodTiming is what the agent observed of one pod, for the harness's breakdowns.
type PodTiming struct {
	Namespace, Name, Node string
	UID                   types.UID
	// Bound is when the agent first saw the pod bound to one of its nodes; Ready is
	// when the API server accepted the pod's Running and Ready status.
	Bound, Ready time.Time
	// SandboxDone is when the sandbox delay ran out (Bound + delay).
	SandboxDone time.Time
	// WriteSent is when the status write that succeeded was sent,
	// WritesInFlight how many status writes were in flight with it, and
	// WriteThrottled how long it waited in the client's rate limiter.
	WriteSent      time.Time
	WritesInFlight int
	WriteThrottled time.Duration
	// CreateSent, Created, CreatesInFlight and CreateThrottled are the same
	// for the pod's API create, when the agent made it (direct mode; zero
	// otherwise). The direct source fills them in (direct.Source.Timed).
	CreateSent, Created time.Time
	CreatesInFlight     int
	CreateThrottled     time.Duration
}

// Observer is told about every pod the agent starts. It is called from the worker
// goroutines, so it must be quick and safe for concurrent use.
type Observer interface {
	PodReady(PodTiming)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(PodTiming)

func (f ObserverFunc) PodReady(t PodTiming) { f(t) }

// Sandboxes runs what executes a pod's invocations. Start is called once the
// pod has its IP and before it is marked Ready, so a Ready pod is invocable;
// an error retries the pod with backoff. It gets the pod itself, whose spec
// says what to serve (a Knative pod's queue-proxy: sandbox.KnativeQueue).
// Stop is called when the agent forgets the pod (deleted, or its node gone)
// and must not block.
type Sandboxes interface {
	Start(pod *corev1.Pod, podIP netip.Addr) error
	Stop(namespace, name string)
}

// maxConflictRetries bounds the immediate re-read-and-retry of a status update that
// lost a race; after that the pod goes back to the rate-limited queue.
const maxConflictRetries = 5

// podState is the agent's memory of one pod, keyed by namespace/name.
type podState struct {
	// uid is the API object's; empty while a pod that arrived over a link
	// (PodArriving) is not yet created in the API server.
	uid types.UID
	// identity is the pod's link identity (IdentityAnnotation), which ties
	// the API object to a pod that arrived before it existed.
	identity   string
	pod        *corev1.Pod // latest version seen
	node       *simNode
	boundAt    time.Time
	deletingAt time.Time  // when the agent first saw a deletionTimestamp
	ip         netip.Addr // allocated pod IP (invalid for hostNetwork pods)
	readyAt    time.Time  // zero until the Ready status is written
	deleted    bool       // the grace-period-0 delete succeeded
	timer      clock.Timer
}

// lifecycle drives pods on the agent's nodes: bound → (SandboxDelay) → Running and
// Ready; deletionTimestamp → (TerminationDelay) → deleted with grace period 0.
// It implements PodSink.
type lifecycle struct {
	cfg      *Config
	client   kubernetes.Interface
	clock    Clock
	m        *metrics
	nodes    map[string]*simNode // read-only after New
	observer Observer
	// sandboxes is optional (nil: pods are status only).
	sandboxes Sandboxes
	logger    logr.Logger
	queue     workqueue.TypedRateLimitingInterface[types.NamespacedName]
	writes    InFlight // status writes
	gate      *Gate    // nil: status writes unbounded but by the workers

	mu   sync.Mutex
	pods map[types.NamespacedName]*podState

	// onSync, when set (tests), is told the outcome of every sync.
	onSync func(key types.NamespacedName, after time.Duration, err error)
}

func newLifecycle(cfg *Config, client kubernetes.Interface, clk Clock, m *metrics,
	nodes map[string]*simNode, obs Observer) *lifecycle {
	// Per-pod exponential backoff, capped low so that pods resume within seconds once
	// an unavailable API server is back; the overall bucket keeps a storm of failures
	// from hammering it meanwhile.
	rl := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](5*time.Millisecond, 5*time.Second),
		&workqueue.TypedBucketRateLimiter[types.NamespacedName]{Limiter: rate.NewLimiter(500, 1000)},
	)
	return &lifecycle{
		cfg:      cfg,
		client:   client,
		clock:    clk,
		m:        m,
		nodes:    nodes,
		observer: obs,
		logger:   logr.Discard(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(rl,
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Clock: clk}),
		pods: map[types.NamespacedName]*podState{},
	}
}

func keyOf(pod *corev1.Pod) types.NamespacedName {
	return types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
}

// IdentityAnnotation holds the link identity (Kubedirect's UID) of a pod
// that a direct source created: it ties the API object to the pod the
// lifecycle started when the bind arrived.
const IdentityAnnotation = "kubedirect.io/uid"

func identityOf(pod *corev1.Pod) string { return pod.Annotations[IdentityAnnotation] }

// is reports whether pod (from the API server or a source) is the
// incarnation st tracks: the same API UID, or, without one on the pod's
// side, the same link identity.
func (st *podState) is(pod *corev1.Pod) bool {
	if pod.UID != "" {
		return st.uid == pod.UID
	}
	id := identityOf(pod)
	return id != "" && id == st.identity
}

// PodArriving implements PodSink: the sandbox starts now, before the pod
// exists in the API server; its status waits for PodBound to bring the API
// object with the same identity.
func (l *lifecycle) PodArriving(pod *corev1.Pod) {
	key := keyOf(pod)
	n := l.nodes[pod.Spec.NodeName]
	id := identityOf(pod)
	if id == "" {
		return // nothing could ever tie it to its API object
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.pods[key]
	if st != nil && (st.identity != id || st.node != n) {
		l.dropLocked(key, st) // another incarnation of the name, or a rebinding
		st = nil
	}
	if st != nil || n == nil || n.gone.Load() {
		return
	}
	l.pods[key] = &podState{identity: id, node: n, boundAt: l.clock.Now(), pod: pod}
	l.m.pods.Inc()
}

// PodBound implements PodSink.
func (l *lifecycle) PodBound(pod *corev1.Pod) { l.bound(pod, false) }

// podUpdated is PodBound for a pod another source owns (a managed pod seen by
// the informer of a direct-mode agent): it updates what is tracked, and
// restores a pod already running, but never starts one.
func (l *lifecycle) podUpdated(pod *corev1.Pod) { l.bound(pod, true) }

func (l *lifecycle) bound(pod *corev1.Pod, existingOnly bool) {
	key := keyOf(pod)
	n := l.nodes[pod.Spec.NodeName]
	now := l.clock.Now()

	l.mu.Lock()
	st := l.pods[key]
	adopted := false
	if st != nil && st.uid == "" {
		if id := identityOf(pod); id != st.identity || pod.UID == "" {
			// An older incarnation of the name while the one that arrived
			// over the link is being created: not ours to drive.
			l.mu.Unlock()
			return
		}
		st.uid, adopted = pod.UID, true // the API object of a pod that arrived over a link
	}
	if st != nil && (st.uid != pod.UID || st.node != n) {
		// A new pod reusing the name, or (in direct mode) a rebinding: start over.
		l.dropLocked(key, st)
		st = nil
	}
	if n == nil || n.gone.Load() || (st == nil && existingOnly && !isRunningAndReady(pod)) {
		l.mu.Unlock()
		return // not one of ours, or not this path's to start
	}
	fresh := st == nil || adopted
	if st == nil {
		st = &podState{uid: pod.UID, identity: identityOf(pod), node: n, boundAt: now}
		l.pods[key] = st
		l.m.pods.Inc()
	}
	if fresh && isRunningAndReady(pod) {
		// Started before this agent (a previous run): keep its IP taken.
		if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil && n.ips.reserve(ip) {
			st.ip = ip
		}
		st.readyAt = now
	}
	restored := fresh && !st.readyAt.IsZero() && st.ip.IsValid()
	st.pod = pod
	if pod.DeletionTimestamp != nil && st.deletingAt.IsZero() {
		st.deletingAt = now
	}
	// Most updates are the echo of the agent's own status write: nothing to do.
	idle := pod.DeletionTimestamp == nil && (!st.readyAt.IsZero() || isTerminal(pod))
	l.mu.Unlock()
	if restored && l.sandboxes != nil {
		if err := l.sandboxes.Start(pod, st.ip); err != nil {
			l.logger.Error(err, "Restarting the sandbox of a running pod", "pod", key)
		}
	}
	if !idle {
		l.queue.Add(key)
	}
}

// PodGone implements PodSink.
func (l *lifecycle) PodGone(pod *corev1.Pod) {
	key := keyOf(pod)
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.pods[key]; st != nil && st.is(pod) {
		l.dropLocked(key, st)
	}
}

// forget drops the pod key if it is still the incarnation uid, and says
// whether it did (housekeeping).
func (l *lifecycle) forget(key types.NamespacedName, uid types.UID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.pods[key]; st != nil && st.uid == uid {
		l.dropLocked(key, st)
		return true
	}
	return false
}

// nodeGone forgets every pod of a node that was deleted: their IPs go with it.
func (l *lifecycle) nodeGone(n *simNode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, st := range l.pods {
		if st.node == n {
			l.dropLocked(key, st)
		}
	}
}

func (l *lifecycle) dropLocked(key types.NamespacedName, st *podState) {
	if st.timer != nil {
		st.timer.Stop()
	}
	if l.sandboxes != nil {
		l.sandboxes.Stop(key.Namespace, key.Name)
	}
	if st.ip.IsValid() {
		st.node.ips.release(st.ip)
	}
	delete(l.pods, key)
	l.m.pods.Dec()
}

// run processes the queue with workers goroutines until the queue shuts down.
func (l *lifecycle) run(ctx context.Context, workers int, wg *sync.WaitGroup) {
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.processNext(ctx) {
			}
		}()
	}
}

func (l *lifecycle) processNext(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	after, err := l.sync(ctx, key)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			l.logger.V(2).Info("Retrying pod", "pod", key, "err", err)
		}
		l.queue.AddRateLimited(key)
	case after > 0:
		l.queue.Forget(key)
		l.wakeAfter(key, after)
	default:
		l.queue.Forget(key)
	}
	if l.onSync != nil {
		l.onSync(key, after, err)
	}
	return true
}

// wakeAfter queues key again after d. It uses a clock timer rather than the queue's
// AddAfter: the deadline is fixed here, synchronously, which keeps scripted
// (fake-clock) time exact, where the queue's waiting loop reads the clock again later.
// The timer lives in the pod's state so that dropping the pod or stopping the agent
// releases it.
func (l *lifecycle) wakeAfter(key types.NamespacedName, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.pods[key]
	if st == nil {
		return
	}
	if st.timer != nil {
		st.timer.Stop()
	}
	st.timer = l.clock.AfterFunc(d, func() { l.queue.Add(key) })
}

// stopTimers cancels every pending wake-up (shutdown).
func (l *lifecycle) stopTimers() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range l.pods {
		if st.timer != nil {
			st.timer.Stop()
		}
	}
}

// sync moves one pod one step. It returns a delay after which to look again, or an
// error to retry with backoff.
func (l *lifecycle) sync(ctx context.Context, key types.NamespacedName) (time.Duration, error) {
	now := l.clock.Now()
	l.mu.Lock()
	st := l.pods[key]
	if st == nil {
		l.mu.Unlock()
		return 0, nil
	}
	pod, n := st.pod, st.node
	if st.uid == "" {
		// Arrived over a link, not yet in the API server: PodBound brings
		// the API object (and this key back) once the source created it.
		l.mu.Unlock()
		return 0, nil
	}

	if pod.DeletionTimestamp != nil {
		if st.deleted {
			l.mu.Unlock()
			return 0, nil
		}
		wait := st.deletingAt.Add(l.cfg.TerminationDelay).Sub(now)
		l.mu.Unlock()
		if wait > 0 {
			return wait, nil
		}
		return 0, l.deletePod(ctx, key, pod)
	}
	if isTerminal(pod) || !st.readyAt.IsZero() {
		l.mu.Unlock()
		return 0, nil
	}
	if wait := st.boundAt.Add(l.cfg.SandboxDelay).Sub(now); wait > 0 {
		l.mu.Unlock()
		return wait, nil
	}
	hostIP := n.hostIP.String()
	podIP := hostIP
	if !pod.Spec.HostNetwork {
		if !st.ip.IsValid() {
			ip, err := n.ips.allocate()
			if err != nil {
				l.mu.Unlock()
				l.m.statusUpdateErrors.Inc()
				return 0, err
			}
			st.ip = ip
		}
		podIP = st.ip.String()
	}
	boundAt, ip := st.boundAt, st.ip
	l.mu.Unlock()
	if l.sandboxes != nil && ip.IsValid() {
		if err := l.sandboxes.Start(pod, ip); err != nil {
			return 0, fmt.Errorf("starting the sandbox of %s: %w", key, err)
		}
	}
	return 0, l.markReady(ctx, key, pod, boundAt, hostIP, podIP)
}

// markReady writes the Running and Ready status. A conflict (someone else wrote the pod
// since the agent's copy) is retried at once on a fresh read.
func (l *lifecycle) markReady(ctx context.Context, key types.NamespacedName, pod *corev1.Pod,
	boundAt time.Time, hostIP, podIP string) error {
	pods := l.client.CoreV1().Pods(key.Namespace)
	for attempt := 0; ; attempt++ {
		upd := pod.DeepCopy()
		upd.Status = runningStatus(pod, hostIP, podIP, boundAt, l.clock.Now())
		var thr Throttle
		l.gate.Acquire(true)
		sent, inFlight := l.clock.Now(), l.writes.Start()
		_, err := pods.UpdateStatus(WithThrottle(ctx, &thr), upd, metav1.UpdateOptions{})
		l.writes.Done()
		l.gate.Release()
		if err == nil {
			readyAt := l.clock.Now()
			l.m.statusUpdate.Observe(readyAt.Sub(sent).Seconds())
			l.mu.Lock()
			if st := l.pods[key]; st != nil && st.uid == pod.UID {
				st.readyAt = readyAt
			}
			l.mu.Unlock()
			l.m.podsStarted.Inc()
			l.m.readyLag.Observe((readyAt.Sub(boundAt) - l.cfg.SandboxDelay).Seconds())
			if l.observer != nil {
				l.observer.PodReady(PodTiming{Namespace: pod.Namespace, Name: pod.Name, Node: pod.Spec.NodeName,
					UID: pod.UID, Bound: boundAt, Ready: readyAt, SandboxDone: boundAt.Add(l.cfg.SandboxDelay),
					WriteSent: sent, WritesInFlight: inFlight, WriteThrottled: thr.Waited()})
			}
			return nil
		}
		l.m.statusUpdateErrors.Inc()
		switch {
		case apierrors.IsNotFound(err):
			return nil // deleted meanwhile; the source's PodGone releases the IP
		case apierrors.IsConflict(err) && attempt < maxConflictRetries:
			fresh, gerr := pods.Get(ctx, key.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(gerr) {
				return nil
			}
			if gerr != nil {
				return gerr
			}
			if fresh.UID != pod.UID {
				return nil // a new pod took the name; its own event brings it
			}
			if fresh.DeletionTimestamp != nil || isTerminal(fresh) {
				// Not to be started any more: let sync take the deletion path.
				l.PodBound(fresh)
				return nil
			}
			pod = fresh
		default:
			return err
		}
	}
}

// deletePod finishes a pod's graceful deletion as the kubelet does once its containers
// have stopped: delete with grace period 0, guarded by the pod's UID.
func (l *lifecycle) deletePod(ctx context.Context, key types.NamespacedName, pod *corev1.Pod) error {
	err := l.client.CoreV1().Pods(key.Namespace).Delete(ctx, key.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	switch {
	case err == nil:
		l.m.podsDeleted.Inc()
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		// Already gone, or the name now belongs to another pod.
	default:
		l.m.deleteErrors.Inc()
		return err
	}
	l.mu.Lock()
	if st := l.pods[key]; st != nil && st.uid == pod.UID {
		st.deleted = true
	}
	l.mu.Unlock()
	return nil
}
