package timeline

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// pod is what the collector knows of one pod; times are Unix ns, 0 = unseen.
type pod struct {
	namespace, name string
	label, rs, node string // function label, owning ReplicaSet, node
	// burst: first seen after the burst started. Other pods get no milestones.
	burst                                              bool
	created, scheduled, bound, running, ready, deleted int64
	// readyFromList: Ready was first learnt from a list, not a watch event.
	readyFromList bool
}

// replicaSet is one ReplicaSet's function and when it was seen scaled.
type replicaSet struct {
	function string
	scaled   int64
}

// function is one Deployment: its target and when it was seen scaled.
type function struct {
	// replicas is its size before the burst (the Deployment's, else a
	// ReplicaSet's), which says whether the burst scales it up or down.
	replicas       int32
	deploymentSeen bool
	target         int32
	hasTarget      bool
	down           bool
	// deploymentScaled and rsScaled: first seen at the target after the start.
	deploymentScaled, rsScaled int64
	// scales: every change of the Deployment's spec.replicas seen after
	// the start (Scales), for workloads that scale repeatedly (the trace
	// replay's cold starts); one entry per change, so it stays small.
	scales []Scale
}

type eventType int

const (
	eventAdd eventType = iota
	eventUpdate
	eventDelete
)

// function returns the named function's entry, creating it; c.mu held.
func (c *Collector) function(name string) *function {
	f := c.fns[name]
	if f == nil {
		f = &function{}
		c.fns[name] = f
	}
	return f
}

// reached says whether replicas is at the target in the scale's direction.
func (f *function) reached(replicas int32) bool {
	if f.down {
		return replicas <= f.target
	}
	return replicas >= f.target
}

func (c *Collector) now() int64 { return c.clk.Now().UnixNano() }

func podKey(p *corev1.Pod) string {
	if p.UID != "" {
		return string(p.UID)
	}
	return p.Name
}

func (c *Collector) onPod(obj any, isAdd bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := c.now()
	fromList := c.lws[kindPod].fromList(p.Name, p.ResourceVersion)
	var onReady func(string, time.Duration)
	var sinceStart time.Duration

	c.mu.Lock()
	st := &c.stats.Pods
	if isAdd {
		st.Adds++
	} else {
		st.Updates++
	}
	if fromList {
		st.FromList++
	}
	r := c.pods[podKey(p)]
	if r == nil {
		r = &pod{namespace: p.Namespace, name: p.Name, burst: c.started}
		c.pods[podKey(p)] = r
		if r.burst {
			r.created = now
		} else {
			c.stats.Preexisting++
		}
	}
	r.label = p.Labels[FunctionLabel]
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == "ReplicaSet" {
		r.rs = ref.Name
	}
	if p.Spec.NodeName != "" {
		r.node = p.Spec.NodeName
	}
	if r.burst {
		first := func(t *int64, cond bool) bool {
			if cond && *t == 0 {
				*t = now
				return true
			}
			return false
		}
		first(&r.bound, p.Spec.NodeName != "")
		first(&r.scheduled, conditionTrue(p, corev1.PodScheduled))
		first(&r.running, p.Status.Phase == corev1.PodRunning)
		if first(&r.ready, p.DeletionTimestamp == nil && conditionTrue(p, corev1.PodReady)) {
			r.readyFromList = fromList
			if fromList {
				c.stats.ReadyFromList++
			}
			c.ready++
			c.notifyLocked()
			onReady, sinceStart = c.onReady, time.Duration(now-c.start)
		}
	}
	c.mu.Unlock()

	if onReady != nil {
		onReady(p.Name, sinceStart)
	}
}

func (c *Collector) onPodDelete(obj any) {
	tomb, ok := obj.(cache.DeletedFinalStateUnknown)
	if ok {
		obj = tomb.Obj
	}
	p, isPod := obj.(*corev1.Pod)
	if !isPod {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Pods.Deletes++
	if ok {
		// The watch missed the deletion; a relist found the pod gone.
		c.stats.Pods.Tombstones++
	}
	if r := c.pods[podKey(p)]; r != nil && r.burst && r.deleted == 0 {
		r.deleted = now
	}
	c.notifyLocked() // WaitGone counts the pods in the informer's cache
}

func (c *Collector) onReplicaSet(obj any, ev eventType) {
	o, info, ok := c.objectEvent(obj, ev, kindRS)
	if !ok {
		return
	}
	rs := o.(*appsv1.ReplicaSet)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count(&c.stats.ReplicaSets, ev, info)
	e := c.rs[rs.Name]
	if e == nil {
		e = &replicaSet{}
		c.rs[rs.Name] = e
	}
	e.function = rs.Labels[FunctionLabel]
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil && ref.Kind == "Deployment" {
		e.function = ref.Name
	}
	if ev == eventDelete || e.function == "" {
		return
	}
	f := c.function(e.function)
	replicas := replicasOf(rs.Spec.Replicas)
	if !c.started {
		if !f.deploymentSeen {
			f.replicas = replicas
		}
		return
	}
	if f.hasTarget && e.scaled == 0 && f.reached(replicas) {
		e.scaled = now
		if f.rsScaled == 0 {
			f.rsScaled = now
		}
	}
}

func (c *Collector) onDeployment(obj any, ev eventType) {
	o, info, ok := c.objectEvent(obj, ev, kindDeployment)
	if !ok {
		return
	}
	d := o.(*appsv1.Deployment)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count(&c.stats.Deployments, ev, info)
	if ev == eventDelete {
		return
	}
	f := c.function(d.Name)
	replicas := replicasOf(d.Spec.Replicas)
	if !c.started {
		f.replicas, f.deploymentSeen = replicas, true
		return
	}
	last := f.replicas // before the start; 0 for a Deployment made after it
	if n := len(f.scales); n > 0 {
		last = f.scales[n-1].Replicas
	}
	if replicas != last {
		f.scales = append(f.scales, Scale{At: now, Replicas: replicas})
	}
	if f.hasTarget && f.deploymentScaled == 0 && f.reached(replicas) {
		f.deploymentScaled = now
	}
}

// eventInfo is how an owner's event arrived.
type eventInfo struct{ tombstone, fromList bool }

// objectEvent unwraps a tombstone and checks the object's type.
func (c *Collector) objectEvent(obj any, ev eventType, kind int) (metav1.Object, eventInfo, bool) {
	var info eventInfo
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, info.tombstone = t.Obj, true
	}
	var m metav1.Object
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		if kind != kindRS {
			return nil, info, false
		}
		m = o
	case *appsv1.Deployment:
		if kind != kindDeployment {
			return nil, info, false
		}
		m = o
	default:
		return nil, info, false
	}
	if ev != eventDelete {
		info.fromList = c.lws[kind].fromList(m.GetName(), m.GetResourceVersion())
	}
	return m, info, true
}

// count adds an event to a kind's counters; c.mu held.
func (c *Collector) count(st *Events, ev eventType, info eventInfo) {
	switch ev {
	case eventAdd:
		st.Adds++
	case eventUpdate:
		st.Updates++
	case eventDelete:
		st.Deletes++
	}
	if info.tombstone {
		st.Tombstones++
	}
	if info.fromList {
		st.FromList++
	}
}

// replicasOf reads spec.replicas, which defaults to 1.
func replicasOf(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func conditionTrue(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
