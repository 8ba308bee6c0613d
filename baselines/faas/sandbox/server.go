package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"
)

// maxRuntime matches the loader's clamp of generated runtimes (60 s).
const maxRuntime = 60 * time.Second

// Server is one pod's sandbox.
type Server struct {
	pod  string
	addr netip.AddrPort
	ln   net.Listener
	srv  *http.Server
	done chan error
	// running counts invocations being executed.
	running atomic.Int64
}

// Start serves invocations for pod (namespace/name) on addr until Close.
func Start(pod string, addr netip.AddrPort) (*Server, error) {
	return startWith(pod, addr, net.Listen)
}

// startWith is Start listening with listen (inside a network namespace:
// Pool.Netns).
func startWith(pod string, addr netip.AddrPort, listen listenFunc) (*Server, error) {
	ln, err := listen("tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: listen on %s: %w", pod, addr, err)
	}
	// The address actually bound: port 0 asks for any free one.
	addr = ln.Addr().(*net.TCPAddr).AddrPort()
	s := &Server{pod: pod, addr: netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), ln: ln, done: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+InvokePath, s.invoke)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// inflight is the number of invocations being executed.
func (s *Server) inflight() int64 { return s.running.Load() }

// Addr is where the sandbox listens.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Drain stops accepting invocations at once — the address is free for
// another pod when it returns — and lets running ones finish within grace,
// in the background, as a container does between SIGTERM and SIGKILL.
func (s *Server) Drain(grace time.Duration) {
	_ = s.ln.Close()
	// Close idle keep-alive connections now, not when the goroutine below
	// gets to Shutdown: a caller's pooled connection would otherwise carry
	// one more invocation to a stopped sandbox.
	s.srv.SetKeepAlivesEnabled(false)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if s.srv.Shutdown(ctx) != nil {
			_ = s.srv.Close()
		}
		<-s.done
	}()
}

// Close stops the sandbox at once, cutting running invocations as a killed
// container does.
func (s *Server) Close() error {
	err := s.srv.Close()
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf("sandbox %s: bad request: %v", s.pod, err), http.StatusBadRequest)
		return
	}
	if req.RuntimeUs < 0 || req.Runtime() > maxRuntime || req.MemoryMiB < 0 {
		http.Error(w, fmt.Sprintf("sandbox %s: runtime %dµs or memory %d MiB out of range", s.pod, req.RuntimeUs, req.MemoryMiB), http.StatusBadRequest)
		return
	}
	s.running.Add(1)
	d, mem, err := Execute(r.Context(), req)
	s.running.Add(-1)
	if err != nil {
		return // the caller went away
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Response{DurationUs: d.Microseconds(), MemoryMiB: mem, Pod: s.pod})
}

// Execute runs one invocation: it sleeps (or spins) for the requested
// runtime, holding the memory if asked, and returns the time it took and the
// memory it accounts for.
func Execute(ctx context.Context, req Request) (time.Duration, int64, error) {
	start := time.Now()
	var mem []byte
	if req.Allocate && req.MemoryMiB > 0 {
		mem = make([]byte, int(req.MemoryMiB)<<20)
		for i := 0; i < len(mem); i += 4096 {
			mem[i] = 1 // touch every page so it is resident
		}
	}
	deadline := start.Add(req.Runtime())
	if req.Spin {
		for time.Now().Before(deadline) {
			if ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
		}
	} else if wait := time.Until(deadline); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
	runtime.KeepAlive(mem) // held for the whole invocation
	return time.Since(start), int64(req.MemoryMiB), nil
}
