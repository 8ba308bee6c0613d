// Package localtest helps tests that start a real local cluster: it finds
// the kdbench binary that runs etcd and the node agent, and insists on the
// upstream Kubernetes binaries. Only tests import it.
package localtest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/kdbench/kdbench/internal/k8sbin"
	"github.com/kdbench/kdbench/internal/supervisor"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Binary returns $KDBENCH_BIN (the Makefile sets it) or builds kdbench once
// per test process.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("KDBENCH_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kdbench-bin-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "kdbench")
		_, file, _, _ := runtime.Caller(0)
		_, buildErr = supervisor.Output(context.Background(), supervisor.Command{Path: "go", Args: []string{"build", "-o", built, "./cmd/kdbench"},
			Dir: filepath.Join(filepath.Dir(file), "..", "..", "..")})
	})
	if buildErr != nil {
		t.Fatalf("building kdbench: %v", buildErr)
	}
	return built
}

// RequireUpstream fails (not skips) without the Kubernetes binaries: `make
// test` builds them, and a test that silently skips proves nothing.
func RequireUpstream(t testing.TB) {
	t.Helper()
	for _, b := range k8sbin.Names {
		if _, err := os.Stat(filepath.Join(k8sbin.DefaultDir(), b)); err != nil {
			t.Fatalf("Kubernetes binaries missing (%v): run `make k8s` (or `make build`)", err)
		}
	}
}
