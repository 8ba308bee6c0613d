// Package adapter is the Kubedirect glue shared by the wrapped upstream
// controllers: informers whose managed objects come from the hop (ingress)
// and unmanaged ones from the API server, and a kubernetes.Interface whose
// writes of managed objects become link records (egress).
package adapter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// watchTimeoutSeconds keeps API-server watches open long: a merged watch
// cannot resume (see tokens), so each end costs a relist.
const watchTimeoutSeconds = 3600

// tokens maps the list resourceVersions a merged ListerWatcher hands out to
// the positions of its two sources. A merged stream cannot resume from an
// object's resourceVersion (the two sources count differently), so Watch
// accepts only a token of the last List and answers 410 otherwise, which
// makes the reflector relist: correct, and rare (watches are long).
type tokens struct {
	prefix string
	n      atomic.Uint64
	mu     sync.Mutex
	pos    map[string][2]string
}

var tokenSeq atomic.Uint64

func newTokens() *tokens {
	return &tokens{prefix: "kd" + strconv.FormatUint(tokenSeq.Add(1), 10) + ".", pos: map[string][2]string{}}
}

func (t *tokens) issue(a, b string) string {
	tok := t.prefix + strconv.FormatUint(t.n.Add(1), 10)
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.pos) // only the latest list may start a watch
	t.pos[tok] = [2]string{a, b}
	return tok
}

func (t *tokens) take(tok string) ([2]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.pos[tok]
	if !ok {
		return p, apierrors.NewResourceExpired(fmt.Sprintf("kubedirect: resourceVersion %q cannot resume a merged watch; relist", tok))
	}
	delete(t.pos, tok)
	return p, nil
}

// Union lists and watches the API server's unmanaged objects (API must
// already select them, e.g. with a label selector) and the hop's managed
// ones (Hop, an ingress ListerWatcher) as one stream.
type Union struct {
	API, Hop toolscache.ListerWatcher
	tok      *tokens
	once     sync.Once
}

var _ toolscache.ListerWatcher = (*Union)(nil)

func (u *Union) init() { u.once.Do(func() { u.tok = newTokens() }) }

// List implements cache.Lister.
func (u *Union) List(opts metav1.ListOptions) (runtime.Object, error) {
	u.init()
	hopList, err := u.Hop.List(opts)
	if err != nil {
		return nil, err
	}
	apiOpts := opts
	apiOpts.Limit, apiOpts.Continue = 0, ""
	apiList, err := u.API.List(apiOpts)
	if err != nil {
		return nil, err
	}
	a, err := meta.ListAccessor(apiList)
	if err != nil {
		return nil, err
	}
	h, err := meta.ListAccessor(hopList)
	if err != nil {
		return nil, err
	}
	apiItems, err := meta.ExtractList(apiList)
	if err != nil {
		return nil, err
	}
	hopItems, err := meta.ExtractList(hopList)
	if err != nil {
		return nil, err
	}
	tok := u.tok.issue(a.GetResourceVersion(), h.GetResourceVersion())
	if err := meta.SetList(apiList, append(apiItems, hopItems...)); err != nil {
		return nil, err
	}
	a.SetResourceVersion(tok)
	a.SetContinue("")
	return apiList, nil
}

// Watch implements cache.Watcher.
func (u *Union) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	u.init()
	pos, err := u.tok.take(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	ao, ho := opts, opts
	ao.ResourceVersion, ho.ResourceVersion = pos[0], pos[1]
	ao.AllowWatchBookmarks = false
	ao.TimeoutSeconds = ptrInt64(watchTimeoutSeconds)
	aw, err := u.API.Watch(ao)
	if err != nil {
		return nil, err
	}
	hw, err := u.Hop.Watch(ho)
	if err != nil {
		aw.Stop()
		return nil, err
	}
	return mergeWatches(aw, hw), nil
}

func ptrInt64(v int64) *int64 { return &v }

// merged forwards two watches until either ends or errs.
type merged struct {
	out    chan watch.Event
	stop   chan struct{}
	once   sync.Once
	inputs []watch.Interface
}

func mergeWatches(ws ...watch.Interface) *merged {
	m := &merged{out: make(chan watch.Event), stop: make(chan struct{}), inputs: ws}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func(w watch.Interface) {
			defer wg.Done()
			defer m.Stop()
			for {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok || ev.Type == watch.Error {
						return // the reflector relists
					}
					select {
					case m.out <- ev:
					case <-m.stop:
						return
					}
				case <-m.stop:
					return
				}
			}
		}(w)
	}
	go func() { wg.Wait(); close(m.out) }()
	return m
}

func (m *merged) Stop() {
	m.once.Do(func() {
		close(m.stop)
		for _, w := range m.inputs {
			w.Stop()
		}
	})
}

func (m *merged) ResultChan() <-chan watch.Event { return m.out }

// APIResourceVersion strips the hop revision a managed object's
// resourceVersion carries in an overlay informer ("<api>/<hop>"), for writes
// that go to the API server.
func APIResourceVersion(rv string) string {
	api, _, _ := strings.Cut(rv, "/")
	return api
}

// ctxDone adapts a context for the few client-go APIs that take a channel.
func ctxDone(ctx context.Context) <-chan struct{} { return ctx.Done() }
