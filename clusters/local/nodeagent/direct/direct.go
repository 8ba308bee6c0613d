// Package direct is the node agent's Kubedirect mode: a nodeagent.PodSource
// that takes pods straight from the scheduler's link (the "nodeagent" hop,
// the tail of the chain). As the artifact's kubelet does, a bind starts the
// pod's sandbox in the agent's lifecycle the moment it arrives
// (PodArriving) while the pod is created in the API server concurrently
// (retried, idempotent); the lifecycle writes Running and Ready once both
// the sandbox delay has passed and the API object exists, so a pod pays
// max(create, delay) + one status write. Ready is reported upstream as
// Running. Tombstones (downscale, preemption) delete the pod in the
// API server, drop it from the lifecycle and are confirmed upstream; a managed pod deleted in the API
// server by someone else (namespace deletion, kubectl) is confirmed as
// terminated too, so the chain forgets it.
//
// The API writes here (one create and, later, one delete per pod; the
// lifecycle adds one status update) are part of Kubedirect's cost: they are
// counted in kdbench_nodeagent_direct_api_requests_total and timed in
// kdbench_nodeagent_direct_api_request_duration_seconds.
package direct

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/ingress"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// HopName is the node agent's hop name (the scheduler's downstream peer).
const HopName = "nodeagent"

// UIDAnnotation keeps a pod's link identity on its API object, so that a
// restarted agent seeds its hop with the sandboxes it runs and the lifecycle
// ties the API object to the pod it started when the bind arrived.
const UIDAnnotation = nodeagent.IdentityAnnotation

// Config of the direct source.
type Config struct {
	// Listen is the address the scheduler's link dials; Listener, if set,
	// is it already bound (its address is annotated on the agent's nodes
	// before the link starts).
	Listen   string
	Listener net.Listener
	// NodePrefix names the agent's nodes (nodeagent.Config.NamePrefix).
	NodePrefix string
	// Workers create and delete pods concurrently (default 64; 128 with
	// 128 status workers made a 200-pod burst 2-3x slower on this 2-core
	// machine: the API server does worse with more in flight).
	Workers int
	// Registerer receives the source's and the hop's metrics (optional).
	Registerer prometheus.Registerer
	// TLS is the hop's link identity (nil: plaintext links).
	TLS *link.Credentials
	// Gate bounds the creates in flight together with the agent's status
	// writes (nodeagent.WithGate); nil: only Workers bound them.
	Gate *nodeagent.Gate
}

// Source is the direct-mode PodSource; it is also a nodeagent.Observer (pass
// it with WithObserver) so that it learns when pods turn Ready.
type Source struct {
	cfg    Config
	client kubernetes.Interface
	m      *metrics

	hop    *adapter.Hop
	w      egress.Writer
	ready  chan struct{} // closed once the hop listens
	synced atomic.Bool
	queue  workqueue.TypedRateLimitingInterface[wire.Key]

	mu      sync.Mutex
	created map[wire.Key]types.UID // API UID of pods this agent created or adopted
	arrived map[wire.Key]string    // link identity of pods handed to the lifecycle
	timed   map[wire.Key]createTiming
	creates nodeagent.InFlight
}

// createTiming is one pod's API create as the worker made it (Timed).
type createTiming struct {
	uid        types.UID
	sent, done time.Time
	inFlight   int
	throttled  time.Duration
}

var (
	_ nodeagent.PodSource = (*Source)(nil)
	_ nodeagent.Observer  = (*Source)(nil)
	_ nodeagent.Claimer   = (*Source)(nil)
)

// New returns a source; Run starts it.
func New(client kubernetes.Interface, cfg Config) (*Source, error) {
	if cfg.NodePrefix == "" {
		return nil, fmt.Errorf("nodeagent direct mode: empty node prefix")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	m := newMetrics()
	if cfg.Registerer != nil {
		if err := m.register(cfg.Registerer); err != nil {
			return nil, err
		}
	}
	return &Source{cfg: cfg, client: client, m: m, ready: make(chan struct{}), created: map[wire.Key]types.UID{}, arrived: map[wire.Key]string{}, timed: map[wire.Key]createTiming{},
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[wire.Key]())}, nil
}

// Addr blocks until the link listens (or ctx ends) and returns its address.
func (s *Source) Addr(ctx context.Context) (string, error) {
	select {
	case <-s.ready:
		return s.hop.Addr, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Hop is the running hop (nil before Addr returns); its log and registry
// are for the process's /hops and /metrics.
func (s *Source) Hop() *adapter.Hop { return s.hop }

// HasSynced implements nodeagent.PodSource.
func (s *Source) HasSynced() bool { return s.synced.Load() }

func (s *Source) ours(node string) bool { return strings.HasPrefix(node, s.cfg.NodePrefix) }

// Claims implements nodeagent.Claimer: the managed pods of the agent's nodes
// come from the link; the agent's API-mode path leaves them alone.
func (s *Source) Claims(p *corev1.Pod) bool {
	return p.Labels[egress.ManagedLabel] == "true" && s.ours(p.Spec.NodeName)
}

// Router reports bound pods upstream; the agent is the tail.
var Router = hop.RouterFuncs{UpstreamFunc: func(r *wire.Record) bool { return r.Kind == wire.KindPod && r.Node != "" }}

// Run implements nodeagent.PodSource.
func (s *Source) Run(ctx context.Context, sink nodeagent.PodSink) error {
	defer s.queue.ShutDown()
	factory := informers.NewSharedInformerFactoryWithOptions(s.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = egress.ManagedLabel + "=true" }))
	rsInf := factory.Apps().V1().ReplicaSets()
	podInf := factory.Core().V1().Pods()
	tmpl := &adapter.Templates{Lister: rsInf.Lister(), Client: s.client}
	if _, err := podInf.Informer().AddEventHandler(toolscache.ResourceEventHandlerFuncs{DeleteFunc: s.apiDeleted}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !toolscache.WaitForCacheSync(ctx.Done(), rsInf.Informer().HasSynced, podInf.Informer().HasSynced) {
		return nil // ctx done
	}
	initial, unfinished, err := s.initial(podInf.Lister())
	if err != nil {
		return err
	}
	h, err := adapter.StartHop(ctx, adapter.HopConfig{Name: HopName, Upstream: refhops.Scheduler, Listen: s.cfg.Listen, Listener: s.cfg.Listener,
		Router: Router, Initial: initial, Registry: prometheus.NewRegistry(), TLS: s.cfg.TLS})
	if err != nil {
		return err
	}
	s.hop, s.w = h, egress.New(h)
	close(s.ready)
	// The hop reports these pods as this agent's, so the scheduler will not
	// send them again: start the ones whose sandbox a crash cut short.
	for _, p := range unfinished {
		sink.PodBound(p)
	}
	events, err := h.Store().Watch(ctx, wire.KindPod, 0)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s.next(ctx, sink, tmpl) {
			}
		}()
	}
	s.synced.Store(true)
	for ev := range events { // closed when ctx ends
		// The sandbox starts at link receipt, before the worker creates
		// the pod in the API server.
		s.arrive(sink, &ev.Record)
		s.queue.Add(ev.Record.Key())
	}
	s.queue.ShutDown()
	wg.Wait()
	return nil
}

// initial rebuilds the hop's truth from the managed pods this agent runs
// (a restarted agent must not look empty to the scheduler); unfinished are
// those of them not yet Running, whose sandbox the lifecycle must start.
func (s *Source) initial(pods corelisters.PodLister) (out []wire.Record, unfinished []*corev1.Pod, err error) {
	list, err := pods.List(labels.Everything())
	if err != nil {
		return nil, nil, err
	}
	for _, p := range list {
		uid := p.Annotations[UIDAnnotation]
		if uid == "" || !s.ours(p.Spec.NodeName) || p.DeletionTimestamp != nil {
			continue
		}
		r, err := egress.PodRecord(p)
		if err != nil {
			return nil, nil, fmt.Errorf("nodeagent direct mode: pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		r.UID = uid
		if p.Status.Phase == corev1.PodRunning {
			r.Phase = wire.PhaseRunning
		} else {
			unfinished = append(unfinished, p)
		}
		out = append(out, r)
		s.created[r.Key()] = p.UID
	}
	return out, unfinished, nil
}

// arrive hands a pod newly bound to one of the agent's nodes to the
// lifecycle, once per link identity.
func (s *Source) arrive(sink nodeagent.PodSink, rec *wire.Record) {
	if rec.Kind != wire.KindPod || rec.Node == "" || !s.ours(rec.Node) || rec.UID == "" ||
		rec.Phase == wire.PhaseTerminating || rec.Phase == wire.PhaseTerminated {
		return
	}
	key := rec.Key()
	s.mu.Lock()
	_, created := s.created[key]
	if created || s.arrived[key] == rec.UID {
		s.mu.Unlock()
		return
	}
	s.arrived[key] = rec.UID
	s.mu.Unlock()
	sink.PodArriving(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: rec.Namespace, Name: rec.Name, Annotations: map[string]string{UIDAnnotation: rec.UID}},
		Spec:       corev1.PodSpec{NodeName: rec.Node}})
}

// gone tells the lifecycle that the pod of key is no longer to run: by its
// API UID once created, else by its link identity.
func (s *Source) gone(sink nodeagent.PodSink, key wire.Key) {
	s.mu.Lock()
	uid, created := s.created[key]
	id, arrived := s.arrived[key]
	delete(s.created, key)
	delete(s.arrived, key)
	delete(s.timed, key)
	s.mu.Unlock()
	if !created && !arrived {
		return
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, UID: uid}}
	if id != "" {
		p.Annotations = map[string]string{UIDAnnotation: id}
	}
	sink.PodGone(p)
}

func (s *Source) next(ctx context.Context, sink nodeagent.PodSink, tmpl *adapter.Templates) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	if err := s.sync(ctx, key, sink, tmpl); err != nil && ctx.Err() == nil {
		s.queue.AddRateLimited(key)
		return true
	}
	s.queue.Forget(key)
	return true
}

func (s *Source) createdUID(k wire.Key) (types.UID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid, ok := s.created[k]
	return uid, ok
}

// sync moves one pod towards its record: create when bound, delete and
// confirm when tombstoned, forget when released.
func (s *Source) sync(ctx context.Context, key wire.Key, sink nodeagent.PodSink, tmpl *adapter.Templates) error {
	rec, ok := s.hop.Store().Get(key)
	switch {
	case !ok:
		s.gone(sink, key)
		return nil
	case rec.Phase == wire.PhaseTerminated:
		return nil
	case rec.Phase == wire.PhaseTerminating:
		if err := s.delete(ctx, key); err != nil {
			return err
		}
		// The sandbox is gone with the pod: tell the lifecycle now rather
		// than through its informer, which never reports a pod deleted
		// before it listed it (a fast tombstone, a relist), nor one that
		// arrived and was never created.
		s.gone(sink, key)
		return s.w.SetTerminated(ctx, key.Namespace, key.Name)
	case rec.Node == "" || !s.ours(rec.Node):
		return nil
	}
	if _, done := s.createdUID(key); done {
		return nil
	}
	s.arrive(sink, &rec) // idempotent: covers an event the watch loop did not see
	rs, err := tmpl.ReplicaSet(ctx, rec.Namespace, rec.Owner)
	if err != nil {
		return err
	}
	pod := ingress.PodFromRecord(&rec)
	adapter.Fill(pod, rs)
	pod.UID, pod.ResourceVersion, pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = "", "", nil, nil
	pod.Status = corev1.PodStatus{}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[UIDAnnotation] = rec.UID
	var thr nodeagent.Throttle
	s.cfg.Gate.Acquire(false)
	sent, inFlight := time.Now(), s.creates.Start()
	created, err := s.create(nodeagent.WithThrottle(ctx, &thr), pod)
	s.creates.Done()
	s.cfg.Gate.Release()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.created[key] = created.UID
	s.timed[key] = createTiming{uid: created.UID, sent: sent, done: time.Now(), inFlight: inFlight, throttled: thr.Waited()}
	s.mu.Unlock()
	sink.PodBound(created)
	return nil
}

func (s *Source) create(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := s.client.CoreV1().Pods(pod.Namespace)
	start := time.Now()
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	s.m.observe("create", start, err)
	if apierrors.IsAlreadyExists(err) {
		// A retry after a lost reply, or a restart: adopt it if it is this pod.
		existing, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, gerr
		}
		if existing.Annotations[UIDAnnotation] != pod.Annotations[UIDAnnotation] {
			return nil, fmt.Errorf("nodeagent direct mode: pod %s/%s exists in the API server with another identity", pod.Namespace, pod.Name)
		}
		return existing, nil
	}
	return created, err
}

func (s *Source) delete(ctx context.Context, key wire.Key) error {
	start := time.Now()
	err := s.client.CoreV1().Pods(key.Namespace).Delete(ctx, key.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	s.m.observe("delete", start, err)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// apiDeleted confirms as terminated a live pod someone deleted in the API
// server: its sandbox is gone (the lifecycle saw the same deletion).
func (s *Source) apiDeleted(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	select {
	case <-s.ready:
	default:
		return // not serving the link yet: initial() covers what exists
	}
	key := wire.Key{Kind: wire.KindPod, Namespace: p.Namespace, Name: p.Name}
	if uid, ok := s.createdUID(key); !ok || uid != p.UID {
		return
	}
	if err := s.w.SetTerminated(context.Background(), key.Namespace, key.Name); err != nil && !apierrors.IsNotFound(err) {
		s.queue.AddRateLimited(key)
	}
}

// Timed returns t with the pod's API create filled in, if this agent made
// it (for the agent's timing log).
func (s *Source) Timed(t nodeagent.PodTiming) nodeagent.PodTiming {
	key := wire.Key{Kind: wire.KindPod, Namespace: t.Namespace, Name: t.Name}
	s.mu.Lock()
	c, ok := s.timed[key]
	s.mu.Unlock()
	if ok && c.uid == t.UID {
		t.CreateSent, t.Created, t.CreatesInFlight, t.CreateThrottled = c.sent, c.done, c.inFlight, c.throttled
	}
	return t
}

// PodReady implements nodeagent.Observer: a managed pod this agent created
// turned Ready, which the chain learns as Running.
func (s *Source) PodReady(t nodeagent.PodTiming) {
	key := wire.Key{Kind: wire.KindPod, Namespace: t.Namespace, Name: t.Name}
	s.mu.Lock()
	uid, created := s.created[key]
	_, arrived := s.arrived[key]
	s.mu.Unlock()
	// The informer may show the lifecycle the created pod before the
	// worker that created it records its UID: an arrival the lifecycle
	// tied to its API object by identity is this pod too.
	if (created && uid != t.UID) || (!created && !arrived) {
		return
	}
	if err := s.w.SetRunning(context.Background(), t.Namespace, t.Name); err != nil && !apierrors.IsNotFound(err) {
		s.m.linkErrors.Inc()
	}
}
