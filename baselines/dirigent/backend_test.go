package dirigent

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBackend is an external orchestrator: it records the counts asked
// for, then starts or stops sandbox servers and reports the Ready ones
// after a delay, as pods become Ready some time after binding. Scale
// blocks while gate is held.
type fakeBackend struct {
	rt    *serverRuntime
	delay time.Duration
	gate  sync.Mutex
	cp    atomic.Pointer[ControlPlane]

	mu       sync.Mutex
	asked    map[string][]int
	ids      map[string][]string
	urls     map[string]string
	seq      int
	inflight int
	overlap  bool
}

func newFakeBackend(delay time.Duration) *fakeBackend {
	return &fakeBackend{rt: &serverRuntime{servers: map[string]*httptest.Server{}}, delay: delay,
		asked: map[string][]int{}, ids: map[string][]string{}, urls: map[string]string{}}
}

func (b *fakeBackend) Scale(ctx context.Context, fn Function, n int) error {
	b.mu.Lock()
	b.inflight++
	b.overlap = b.overlap || b.inflight > 1
	b.asked[fn.Name] = append(b.asked[fn.Name], n)
	b.mu.Unlock()
	b.gate.Lock()
	b.gate.Unlock()
	b.mu.Lock()
	b.inflight--
	b.mu.Unlock()
	time.AfterFunc(b.delay, func() { b.converge(fn) })
	return nil
}

// converge brings fn to the count last asked for, as a controller
// reconciles to the latest spec.
func (b *fakeBackend) converge(fn Function) {
	b.mu.Lock()
	asked := b.asked[fn.Name]
	n := asked[len(asked)-1]
	ids := b.ids[fn.Name]
	for len(ids) < n {
		b.seq++
		ids = append(ids, fmt.Sprintf("%s-pod%d", fn.Name, b.seq))
	}
	for _, id := range ids[n:] {
		b.rt.Stop(id)
		delete(b.urls, id)
	}
	ids = ids[:n]
	b.ids[fn.Name] = ids
	refs := make([]SandboxRef, 0, n)
	for _, id := range ids {
		url, ok := b.urls[id]
		if !ok {
			url, _ = b.rt.Start(context.Background(), id, fn)
			b.urls[id] = url
		}
		refs = append(refs, SandboxRef{ID: id, Worker: "node-0", URL: url})
	}
	// Reported under b.mu, so reports reach the control plane in order.
	_ = b.cp.Load().SetSandboxes(fn.Name, refs)
	b.mu.Unlock()
}

func (b *fakeBackend) askedFor(fn string) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.asked[fn]...)
}

func startWithBackend(t *testing.T, b *fakeBackend) *Deployment {
	cfg := fastConfig(0)
	cfg.Backend = b
	d := start(t, cfg)
	b.cp.Store(d.ControlPlane)
	return d
}

func TestBackendColdStartAndScaleToZero(t *testing.T) {
	b := newFakeBackend(30 * time.Millisecond)
	d := startWithBackend(t, b)
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn", Autoscale: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := d.Call(ctx, "fn", Call{ID: "x", RuntimeUs: 500})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ColdStart || rep.QueueUs < b.delay.Microseconds() || rep.DurationUs != 500 {
		t.Errorf("reply %+v: want a cold start that waited for the backend's sandbox", rep)
	}
	// Idle after the first stable window: the backend is asked for zero.
	eventually(t, "scale to zero", func() bool {
		a := b.askedFor("fn")
		return len(a) > 0 && a[len(a)-1] == 0 && state(t, d, "fn").Ready == 0
	})
	if a := b.askedFor("fn"); a[0] != 1 {
		t.Errorf("backend asked for %v: want scale-from-zero to ask for 1 first", a)
	}
}

func TestBackendCoalescesDecisions(t *testing.T) {
	b := newFakeBackend(0)
	d := startWithBackend(t, b)
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	b.gate.Lock()
	for n := 1; n <= 10; n++ {
		if err := d.Scale(ctx, "fn", n); err != nil {
			t.Fatal(err)
		}
	}
	b.gate.Unlock()
	eventually(t, "10 sandboxes", func() bool { return state(t, d, "fn").Ready == 10 })
	// The first request carries whatever count was set when it left (1
	// unless the loop outran it); while it blocks, the nine later counts
	// collapse into one request for the newest.
	if a := b.askedFor("fn"); len(a) > 2 || a[len(a)-1] != 10 {
		t.Errorf("backend asked for %v, want at most two requests, the last for 10", a)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.overlap {
		t.Error("two requests for one function were outstanding at once")
	}
}

func TestSetSandboxesValidation(t *testing.T) {
	d := startWithBackend(t, newFakeBackend(0))
	if err := d.Register(context.Background(), Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	own := start(t, fastConfig(1))
	for _, tc := range []struct {
		name string
		cp   *ControlPlane
		fn   string
		refs []SandboxRef
	}{
		{name: "worker-daemon control plane", cp: own.ControlPlane, fn: "fn"},
		{name: "unknown function", cp: d.ControlPlane, fn: "nope"},
		{name: "sandbox without URL", cp: d.ControlPlane, fn: "fn", refs: []SandboxRef{{ID: "a"}}},
		{name: "sandbox without ID", cp: d.ControlPlane, fn: "fn", refs: []SandboxRef{{URL: "http://127.0.0.1:1/invoke"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cp.SetSandboxes(tc.fn, tc.refs); err == nil {
				t.Error("accepted")
			}
		})
	}
}
