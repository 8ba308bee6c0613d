// Package ingress feeds a wrapped controller's informers from a hop's cache:
// a client-go cache.ListerWatcher per resource whose List is a snapshot of the
// hop's records with the cache revision as resourceVersion, and whose Watch
// streams the changes after it. List waits until the hop has resynced with
// every downstream peer, so a controller's WaitForCacheSync is also the
// hop's sync gate (a restarted hop acts only on complete truth).
package ingress

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Source is what ingress reads (a *hop.Runtime).
type Source interface {
	Store() *cache.Store
	WaitSynced(ctx context.Context) error
}

// Converter turns a record into the object an informer expects; a nil object
// means "not visible" (e.g. no base object for a scale record yet).
type Converter func(r *wire.Record) (runtime.Object, error)

// ListerWatcher serves one kind of record as Kubernetes objects.
type ListerWatcher struct {
	ctx     context.Context
	src     Source
	kind    wire.Kind
	convert Converter
	newList func(items []runtime.Object) (runtime.Object, error)
	fields  func(obj runtime.Object) fields.Set // field selector support
}

var _ toolscache.ListerWatcher = (*ListerWatcher)(nil)

// New returns a ListerWatcher for records of kind; ctx bounds List's wait for
// the sync gate and every watch.
func New(ctx context.Context, src Source, kind wire.Kind, convert Converter,
	newList func(items []runtime.Object) (runtime.Object, error), fieldSet func(runtime.Object) fields.Set) *ListerWatcher {
	return &ListerWatcher{ctx: ctx, src: src, kind: kind, convert: convert, newList: newList, fields: fieldSet}
}

// Pods returns a ListerWatcher of the hop's pod records as *corev1.Pod;
// decorate (optional) fills in what a descriptor lacks: the spec from the
// owner's template, the owner reference's UID.
func Pods(ctx context.Context, src Source, decorate func(*corev1.Pod) error) *ListerWatcher {
	conv := func(r *wire.Record) (runtime.Object, error) {
		p := PodFromRecord(r)
		if decorate != nil {
			if err := decorate(p); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	newList := func(items []runtime.Object) (runtime.Object, error) {
		l := &corev1.PodList{Items: make([]corev1.Pod, 0, len(items))}
		for _, o := range items {
			l.Items = append(l.Items, *o.(*corev1.Pod))
		}
		return l, nil
	}
	return New(ctx, src, wire.KindPod, conv, newList, PodFields)
}

// PodFields are the field-selector fields of a pod (as the API server's).
func PodFields(obj runtime.Object) fields.Set {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	return fields.Set{"metadata.name": p.Name, "metadata.namespace": p.Namespace,
		"spec.nodeName": p.Spec.NodeName, "status.phase": string(p.Status.Phase),
		"spec.schedulerName": p.Spec.SchedulerName}
}

// PodFromRecord builds the pod a descriptor stands for: identity, owner,
// node, phase; a tombstone shows as a pod being deleted.
func PodFromRecord(r *wire.Record) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, UID: types.UID(r.UID),
			Labels: map[string]string{egress.ManagedLabel: "true"}},
		Spec: corev1.PodSpec{NodeName: r.Node},
	}
	if r.Template != "" {
		p.Labels[egress.TemplateLabel] = r.Template
	}
	if r.CreatedNs != 0 {
		p.CreationTimestamp = metav1.NewTime(timeFromNs(r.CreatedNs))
	}
	if r.Owner != "" {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: r.Owner, Controller: &t, BlockOwnerDeletion: &t}}
	}
	switch r.Phase {
	case wire.PhasePending, wire.PhaseBound:
		p.Status.Phase = corev1.PodPending
	case wire.PhaseRunning:
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	case wire.PhaseTerminating:
		p.Status.Phase = corev1.PodRunning
	case wire.PhaseTerminated:
		p.Status.Phase = corev1.PodSucceeded
	}
	if r.Node != "" {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
	}
	if r.Phase.Tombstoned() {
		now := metav1.NewTime(timeFromNs(max(r.CreatedNs, 1)))
		var grace int64
		p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	}
	return p
}

func (lw *ListerWatcher) matcher(opts metav1.ListOptions) (func(runtime.Object) bool, error) {
	ls, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("ingress: label selector %q: %v", opts.LabelSelector, err))
	}
	fs, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("ingress: field selector %q: %v", opts.FieldSelector, err))
	}
	return func(o runtime.Object) bool {
		m, err := meta.Accessor(o)
		if err != nil || !ls.Matches(labels.Set(m.GetLabels())) {
			return false
		}
		if fs.Empty() {
			return true
		}
		if lw.fields == nil {
			return false
		}
		return fs.Matches(lw.fields(o))
	}, nil
}

func (lw *ListerWatcher) object(r *wire.Record, rev uint64) (runtime.Object, error) {
	o, err := lw.convert(r)
	if err != nil || o == nil {
		return nil, err
	}
	if m, err := meta.Accessor(o); err == nil {
		m.SetResourceVersion(strconv.FormatUint(rev, 10))
	}
	return o, nil
}

// List implements cache.Lister.
func (lw *ListerWatcher) List(opts metav1.ListOptions) (runtime.Object, error) {
	if err := lw.src.WaitSynced(lw.ctx); err != nil {
		return nil, apierrors.NewServiceUnavailable(err.Error())
	}
	match, err := lw.matcher(opts)
	if err != nil {
		return nil, err
	}
	recs, rev := lw.src.Store().List(lw.kind)
	items := make([]runtime.Object, 0, len(recs))
	for i := range recs {
		o, err := lw.object(&recs[i], rev)
		if err != nil {
			return nil, fmt.Errorf("ingress: %s: %w", recs[i].Key(), err)
		}
		if o != nil && match(o) {
			items = append(items, o)
		}
	}
	l, err := lw.newList(items)
	if err != nil {
		return nil, err
	}
	la, err := meta.ListAccessor(l)
	if err != nil {
		return nil, err
	}
	la.SetResourceVersion(strconv.FormatUint(rev, 10))
	return l, nil
}

// Watch implements cache.Watcher.
func (lw *ListerWatcher) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	match, err := lw.matcher(opts)
	if err != nil {
		return nil, err
	}
	var from uint64
	if opts.ResourceVersion == "" || opts.ResourceVersion == "0" {
		from = lw.src.Store().Rev()
	} else if from, err = strconv.ParseUint(opts.ResourceVersion, 10, 64); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("ingress: resourceVersion %q: %v", opts.ResourceVersion, err))
	}
	ctx, cancel := context.WithCancel(lw.ctx)
	events, err := lw.src.Store().Watch(ctx, lw.kind, from)
	if err != nil {
		cancel()
		if errors.Is(err, cache.ErrTooOld) {
			return nil, apierrors.NewResourceExpired(err.Error())
		}
		return nil, apierrors.NewBadRequest(err.Error())
	}
	w := &watcher{cancel: cancel, ch: make(chan watch.Event, 128)}
	go func() {
		defer close(w.ch)
		for ev := range events {
			o, err := lw.object(&ev.Record, ev.Rev)
			if err != nil || o == nil {
				continue
			}
			t := watch.Modified
			switch {
			case ev.Type == cache.Added:
				t = watch.Added
			case ev.Type == cache.Deleted:
				t = watch.Deleted
			}
			if !match(o) {
				if t != watch.Modified {
					continue
				}
				t = watch.Deleted // it stopped matching
			}
			select {
			case w.ch <- watch.Event{Type: t, Object: o}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return w, nil
}

type watcher struct {
	cancel context.CancelFunc
	ch     chan watch.Event
}

func (w *watcher) Stop()                          { w.cancel() }
func (w *watcher) ResultChan() <-chan watch.Event { return w.ch }
