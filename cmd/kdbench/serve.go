package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kdbench/kdbench/internal/procid"
)

// serve runs a component's HTTP endpoints (/metrics, /readyz, …) on addr
// until stop is called.
func serve(component, addr string, mux *http.ServeMux) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics address %s: %w", component, addr, err)
	}
	srv := &http.Server{Handler: procid.Handler(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// readyz answers 200 once ready is closed, 503 with why until then.
func readyz(ready <-chan struct{}, why string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-ready:
			fmt.Fprintln(w, "ok")
		default:
			http.Error(w, why, http.StatusServiceUnavailable)
		}
	}
}
