package adapter

import (
	"context"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/kubedirect/cache"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/ingress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Overlay serves the API server's objects of one scalable kind with the
// replica count of managed ones taken from the hop's scale records: the API
// object carries everything but the desired replicas, which travel over the
// link. An overlaid object's resourceVersion is "<api>/<hop revision>", so
// that a change of either is an update to the informer's handlers.
type Overlay struct {
	Ctx  context.Context
	API  toolscache.ListerWatcher
	Src  ingress.Source
	Kind wire.Kind
	// SetReplicas returns a copy of obj with spec.replicas set.
	SetReplicas func(obj runtime.Object, replicas int32) runtime.Object
	tok         *tokens
	once        sync.Once
	mu          sync.Mutex
	listed      map[string]listState // by token: what the last List saw
}

// listState is a List's view, from which its Watch continues.
type listState struct {
	objs map[wire.Key]runtime.Object // managed API objects, not overlaid
	recs map[wire.Key]wire.Record
}

var _ toolscache.ListerWatcher = (*Overlay)(nil)

func (o *Overlay) key(obj runtime.Object) (wire.Key, metav1.Object, bool) {
	m, err := meta.Accessor(obj)
	if err != nil || !egress.Managed(m) {
		return wire.Key{}, m, false
	}
	return wire.Key{Kind: o.Kind, Namespace: m.GetNamespace(), Name: m.GetName()}, m, true
}

// apply overlays rec on a managed API object.
func (o *Overlay) apply(obj runtime.Object, rec *wire.Record, rev uint64) runtime.Object {
	if rec == nil {
		return obj
	}
	out := o.SetReplicas(obj, rec.Replicas)
	if m, err := meta.Accessor(out); err == nil {
		m.SetResourceVersion(APIResourceVersion(m.GetResourceVersion()) + "/" + strconv.FormatUint(rev, 10))
	}
	return out
}

// List implements cache.Lister; it waits for the hop's sync gate.
func (o *Overlay) List(opts metav1.ListOptions) (runtime.Object, error) {
	o.once.Do(func() { o.tok = newTokens() })
	if err := o.Src.WaitSynced(o.Ctx); err != nil {
		return nil, apierrors.NewServiceUnavailable(err.Error())
	}
	recs, rev := o.Src.Store().List(o.Kind)
	byKey := make(map[wire.Key]*wire.Record, len(recs))
	for i := range recs {
		byKey[recs[i].Key()] = &recs[i]
	}
	opts.Limit, opts.Continue = 0, ""
	l, err := o.API.List(opts)
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	st := listState{objs: map[wire.Key]runtime.Object{}, recs: map[wire.Key]wire.Record{}}
	for k, r := range byKey {
		st.recs[k] = *r
	}
	for i, it := range items {
		if k, _, ok := o.key(it); ok {
			st.objs[k] = it
			items[i] = o.apply(it, byKey[k], rev)
		}
	}
	if err := meta.SetList(l, items); err != nil {
		return nil, err
	}
	la, err := meta.ListAccessor(l)
	if err != nil {
		return nil, err
	}
	tok := o.tok.issue(la.GetResourceVersion(), strconv.FormatUint(rev, 10))
	o.mu.Lock()
	o.listed = map[string]listState{tok: st}
	o.mu.Unlock()
	la.SetResourceVersion(tok)
	la.SetContinue("")
	return l, nil
}

// Watch implements cache.Watcher: API events are overlaid, and a changed
// scale record re-emits the last API object it applies to.
func (o *Overlay) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	o.once.Do(func() { o.tok = newTokens() })
	pos, err := o.tok.take(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	st := o.listed[opts.ResourceVersion]
	delete(o.listed, opts.ResourceVersion)
	o.mu.Unlock()
	from, err := strconv.ParseUint(pos[1], 10, 64)
	if err != nil {
		return nil, apierrors.NewBadRequest("kubedirect overlay: bad hop revision " + pos[1])
	}
	ctx, cancel := context.WithCancel(o.Ctx)
	events, err := o.Src.Store().Watch(ctx, o.Kind, from)
	if err != nil {
		cancel()
		return nil, apierrors.NewResourceExpired(err.Error())
	}
	ao := opts
	ao.ResourceVersion, ao.AllowWatchBookmarks, ao.TimeoutSeconds = pos[0], false, ptrInt64(watchTimeoutSeconds)
	aw, err := o.API.Watch(ao)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &overlayWatch{out: make(chan watch.Event), cancel: cancel, api: aw}
	go w.run(ctx, o, events, st, from)
	return w, nil
}

type overlayWatch struct {
	out    chan watch.Event
	cancel context.CancelFunc
	api    watch.Interface
	once   sync.Once
}

func (w *overlayWatch) Stop() {
	w.once.Do(func() { w.cancel(); w.api.Stop() })
}

func (w *overlayWatch) ResultChan() <-chan watch.Event { return w.out }

func (w *overlayWatch) run(ctx context.Context, o *Overlay, events <-chan cache.Event, st listState, rev uint64) {
	defer close(w.out)
	defer w.Stop()
	objs, recs := st.objs, st.recs
	if objs == nil {
		objs, recs = map[wire.Key]runtime.Object{}, map[wire.Key]wire.Record{}
	}
	send := func(ev watch.Event) bool {
		select {
		case w.out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		select {
		case ev, ok := <-w.api.ResultChan():
			if !ok || ev.Type == watch.Error {
				return
			}
			k, _, managed := o.key(ev.Object)
			if managed {
				if ev.Type == watch.Deleted {
					delete(objs, k)
				} else {
					objs[k] = ev.Object
				}
				if r, ok := recs[k]; ok {
					ev.Object = o.apply(ev.Object, &r, rev)
				}
			}
			if !send(ev) {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			rev = ev.Rev
			k := ev.Record.Key()
			if ev.Type == cache.Deleted {
				delete(recs, k)
				continue
			}
			recs[k] = ev.Record
			if obj, ok := objs[k]; ok {
				r := ev.Record
				if !send(watch.Event{Type: watch.Modified, Object: o.apply(obj, &r, rev)}) {
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}
