// Command kdbench is the benchmark and artifact-evaluation harness for
// Kubedirect. It only parses flags and calls the library packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/selfcheck"
	"github.com/kdbench/kdbench/workloads/failover"
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
		os.Exit(exitCode(err))
	}
}

// exitCode lets scripts tell a measured regression (1, the CI gate of
// `kdbench compare`; also broken failover invariants) and a refusal (4: a system or provider cannot do what
// was asked, so nothing was measured; the multi-host e2e's "refused") from
// everything else that went wrong (2). `kdbench cluster status` exits 3 for
// a cluster that is not running.
func exitCode(err error) int {
	var reg *results.RegressionError
	switch {
	case errors.As(err, &reg), errors.Is(err, failover.ErrViolations):
		return 1
	case baselines.IsRefusal(err):
		return 4
	}
	return 2
}
