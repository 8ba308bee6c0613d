package dirigent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// WorkerConfig is one worker daemon.
type WorkerConfig struct {
	Name string
	// ControlPlane is the control plane's base URL.
	ControlPlane string
	// CPUMilli and MemoryMiB are the node's allocatable resources.
	CPUMilli, MemoryMiB int64
	// CreationCost is slept per sandbox creation before the Runtime starts
	// it (the paper's scalability mode: 40 ms, a Firecracker snapshot
	// restore).
	CreationCost time.Duration
	// HeartbeatInterval is how often the worker reports to the control plane.
	HeartbeatInterval time.Duration
	// Runtime runs the sandboxes; nil means a SleepRuntime.
	Runtime Runtime
}

// Worker is a worker daemon: it creates, runs and deletes sandboxes on the
// control plane's orders and sends heartbeats.
type Worker struct {
	cfg    WorkerConfig
	srv    *server
	client *http.Client
	stop   context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	sandboxes map[string]*workerSandbox
	created   int
	silentTil time.Time
}

type workerSandbox struct {
	function string
	inflight sync.WaitGroup
	deleting bool
}

// StartWorker starts the daemon, registers it with the control plane and
// starts its heartbeats.
func StartWorker(ctx context.Context, cfg WorkerConfig) (*Worker, error) {
	if cfg.Runtime == nil {
		cfg.Runtime = NewSleepRuntime()
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	w := &Worker{cfg: cfg, client: newClient(), sandboxes: map[string]*workerSandbox{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathSandboxes, w.handleCreate)
	mux.HandleFunc("DELETE "+pathSandboxes+"/{id}", w.handleDelete)
	mux.HandleFunc("POST "+pathInvoke+"{id}", w.handleInvoke)
	srv, err := listen(mux)
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", cfg.Name, err)
	}
	w.srv = srv
	info := workerInfo{Name: cfg.Name, URL: srv.url, CPUMilli: cfg.CPUMilli, MemoryMiB: cfg.MemoryMiB}
	if err := post(ctx, w.client, http.MethodPost, cfg.ControlPlane+pathWorkers, info, nil); err != nil {
		_ = srv.close()
		return nil, fmt.Errorf("worker %s: registering with the control plane: %w", cfg.Name, err)
	}
	hbCtx, stop := context.WithCancel(context.Background())
	w.stop = stop
	go w.heartbeats(hbCtx)
	return w, nil
}

// URL is the daemon's base URL.
func (w *Worker) URL() string { return w.srv.url }

// Name is the worker's name.
func (w *Worker) Name() string { return w.cfg.Name }

// Sandboxes counts the sandboxes the worker runs.
func (w *Worker) Sandboxes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sandboxes)
}

// Created counts the sandboxes the worker has created in its lifetime.
func (w *Worker) Created() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.created
}

// CrashSandbox stops sandbox id at once, as if its process exited, and
// reports the crash to the control plane, which replaces it.
func (w *Worker) CrashSandbox(ctx context.Context, id string) error {
	w.mu.Lock()
	sb, ok := w.sandboxes[id]
	delete(w.sandboxes, id)
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("worker %s: no sandbox %s", w.cfg.Name, id)
	}
	w.cfg.Runtime.Stop(id)
	c := sandboxCrash{Worker: w.cfg.Name, Function: sb.function, Sandbox: id}
	if err := post(ctx, w.client, http.MethodPost, w.cfg.ControlPlane+pathCrashed, c, nil); err != nil {
		return fmt.Errorf("worker %s: reporting the crash of sandbox %s: %w", w.cfg.Name, id, err)
	}
	return nil
}

// SandboxIDs lists the sandboxes the worker runs.
func (w *Worker) SandboxIDs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.sandboxes))
	for id := range w.sandboxes {
		out = append(out, id)
	}
	return out
}

// SilenceHeartbeats stops the worker's heartbeats for d while it keeps
// serving, as a stalled or partitioned node does.
func (w *Worker) SilenceHeartbeats(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.silentTil = time.Now().Add(d)
}

// Kill stops the daemon at once, as a node crash does: no more heartbeats,
// in-flight requests cut.
func (w *Worker) Kill() {
	w.stop()
	<-w.done
	_ = w.srv.close()
	w.stopSandboxes()
}

func (w *Worker) heartbeats(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		silent := time.Now().Before(w.silentTil)
		w.mu.Unlock()
		if silent {
			continue
		}
		hb := heartbeat{Worker: w.cfg.Name, Sandboxes: w.Sandboxes()}
		rctx, cancel := context.WithTimeout(ctx, w.cfg.HeartbeatInterval)
		err := post(rctx, w.client, http.MethodPost, w.cfg.ControlPlane+pathHeartbeat, hb, nil)
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			// Declared dead: the control plane re-created our sandboxes
			// elsewhere, so drop them and join again as an empty node.
			w.stopSandboxes()
			info := workerInfo{Name: w.cfg.Name, URL: w.srv.url, CPUMilli: w.cfg.CPUMilli, MemoryMiB: w.cfg.MemoryMiB}
			_ = post(rctx, w.client, http.MethodPost, w.cfg.ControlPlane+pathWorkers, info, nil)
		}
		cancel()
	}
}

// stopSandboxes stops every sandbox at once, running calls or not.
func (w *Worker) stopSandboxes() {
	w.mu.Lock()
	ids := make([]string, 0, len(w.sandboxes))
	for id := range w.sandboxes {
		ids = append(ids, id)
	}
	w.sandboxes = map[string]*workerSandbox{}
	w.mu.Unlock()
	for _, id := range ids {
		w.cfg.Runtime.Stop(id)
	}
}

func (w *Worker) handleCreate(rw http.ResponseWriter, r *http.Request) {
	var req createSandbox
	if !decode(rw, r, &req) {
		return
	}
	if w.cfg.CreationCost > 0 {
		t := time.NewTimer(w.cfg.CreationCost)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			http.Error(rw, "creation cancelled", http.StatusServiceUnavailable)
			return
		}
	}
	url, err := w.cfg.Runtime.Start(r.Context(), req.ID, req.Function)
	if err != nil {
		http.Error(rw, fmt.Sprintf("worker %s: starting sandbox %s: %v", w.cfg.Name, req.ID, err), http.StatusInternalServerError)
		return
	}
	if url == "" {
		url = w.srv.url + pathInvoke + req.ID
	}
	w.mu.Lock()
	w.sandboxes[req.ID] = &workerSandbox{function: req.Function.Name}
	w.created++
	w.mu.Unlock()
	reply(rw, http.StatusCreated, sandboxCreated{URL: url})
}

// handleDelete drains the sandbox: calls already running finish, new ones
// are refused.
func (w *Worker) handleDelete(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	w.mu.Lock()
	sb, ok := w.sandboxes[id]
	if ok {
		sb.deleting = true
	}
	w.mu.Unlock()
	if !ok {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	sb.inflight.Wait()
	w.cfg.Runtime.Stop(id)
	w.mu.Lock()
	delete(w.sandboxes, id)
	w.mu.Unlock()
	rw.WriteHeader(http.StatusNoContent)
}

func (w *Worker) handleInvoke(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var c Call
	if !decode(rw, r, &c) {
		return
	}
	w.mu.Lock()
	sb, ok := w.sandboxes[id]
	ok = ok && !sb.deleting
	if ok {
		sb.inflight.Add(1)
	}
	w.mu.Unlock()
	if !ok {
		http.Error(rw, fmt.Sprintf("worker %s: no sandbox %s", w.cfg.Name, id), http.StatusGone)
		return
	}
	defer sb.inflight.Done()
	rep, err := w.cfg.Runtime.Invoke(r.Context(), id, c)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return
	}
	reply(rw, http.StatusOK, rep)
}
