package timeline

import (
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// countingLW wraps a ListerWatcher to tell relists and watch restarts from
// watch events, which the informer's handlers cannot: it counts the lists
// and watches the reflector makes and remembers each object's resource
// version as of the newest list, so a handler can tell that the state it is
// given came from a list rather than from a watch event.
type countingLW struct {
	inner cache.ListerWatcher

	lists, watches atomic.Int64

	mu     sync.Mutex
	listed map[string]string // name → resourceVersion in the newest list
}

func newCountingLW(inner cache.ListerWatcher) *countingLW {
	return &countingLW{inner: inner, listed: map[string]string{}}
}

func (l *countingLW) List(opts metav1.ListOptions) (runtime.Object, error) {
	obj, err := l.inner.List(opts)
	if err != nil {
		return obj, err
	}
	if opts.Continue == "" { // a new list, not the next page of one
		l.lists.Add(1)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return obj, nil // the reflector reports it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range items {
		if m, err := meta.Accessor(it); err == nil {
			l.listed[m.GetName()] = m.GetResourceVersion()
		}
	}
	return obj, nil
}

func (l *countingLW) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	w, err := l.inner.Watch(opts)
	if err == nil {
		l.watches.Add(1)
	}
	return w, err
}

// fromList reports whether an object's state is the one a list delivered.
// A watch event carrying the same resource version that was still queued
// when a relist returned is misread as listed; that needs a relist, which
// the dropped-events check reports anyway.
func (l *countingLW) fromList(name, rv string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return rv != "" && l.listed[name] == rv
}

// counts returns the lists and watches so far.
func (l *countingLW) counts() (lists, watches int) {
	return int(l.lists.Load()), int(l.watches.Load())
}
