package dirigent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// serverRuntime runs every sandbox as an HTTP server of its own, as the
// local cluster's function servers do.
type serverRuntime struct {
	mu      sync.Mutex
	servers map[string]*httptest.Server
	calls   atomic.Int32
}

func (r *serverRuntime) Start(_ context.Context, id string, _ Function) (string, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var c Call
		if err := json.NewDecoder(req.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.calls.Add(1)
		_ = json.NewEncoder(w).Encode(Reply{Sandbox: id, DurationUs: c.RuntimeUs, MemoryMiB: c.MemoryMiB})
	}))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.servers[id] = srv
	return srv.URL + "/invoke", nil
}

func (r *serverRuntime) Invoke(context.Context, string, Call) (Reply, error) {
	panic("a sandbox with its own server is never invoked through the worker")
}

func (r *serverRuntime) Stop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if srv, ok := r.servers[id]; ok {
		srv.Close()
		delete(r.servers, id)
	}
}

func TestSandboxServersAreCalledDirectly(t *testing.T) {
	rt := &serverRuntime{servers: map[string]*httptest.Server{}}
	cfg := fastConfig(1)
	cfg.Runtime = func(string) Runtime { return rt }
	d := start(t, cfg)
	ctx := context.Background()
	if err := d.Register(ctx, Function{Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Scale(ctx, "fn", 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "2 sandboxes", func() bool { return state(t, d, "fn").Ready == 2 })
	for range 5 {
		rep, err := d.Call(ctx, "fn", Call{ID: "x", RuntimeUs: 1234, MemoryMiB: 64})
		if err != nil {
			t.Fatal(err)
		}
		if rep.DurationUs != 1234 || rep.MemoryMiB != 64 {
			t.Errorf("reply %+v, want the sandbox server's", rep)
		}
	}
	if got := rt.calls.Load(); got != 5 {
		t.Errorf("sandbox servers saw %d calls, want 5", got)
	}
	if err := d.Scale(ctx, "fn", 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sandbox servers stopped", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.servers) == 0
	})
}
