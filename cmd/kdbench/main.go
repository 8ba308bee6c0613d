// Command kdbench is the benchmark and artifact-evaluation harness for
// Kubedirect. It only parses flags and calls the library packages.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kdbench/kdbench/collectors/selfcheck"
)

func main() {
	// Cancel on SIGINT/SIGTERM so every command can stop what it started and
	// leave no half-written files; a second signal kills at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	// Observe every client-go request's rate-limiter wait from the start, for
	// the throttling self-check.
	selfcheck.RegisterClientMetrics()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kdbench:", err)
		os.Exit(1)
	}
}
