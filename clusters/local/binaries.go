package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kdbench/kdbench/internal/buildinfo"
	"github.com/kdbench/kdbench/internal/k8sbin"
)

// upstreamBinaries are built from k8s.io/kubernetes by `make k8s`.
var upstreamBinaries = k8sbin.Names

// DefaultBinDir is where `make k8s` puts the upstream binaries.
func DefaultBinDir() string { return k8sbin.DefaultDir() }

// checkBinaries verifies that each upstream binary exists and reports the
// expected version, and returns the versions for the results manifest.
func checkBinaries(ctx context.Context, dir string) (map[string]string, error) {
	type result struct {
		name, version string
		err           error
	}
	ch := make(chan result, len(upstreamBinaries))
	for _, name := range upstreamBinaries {
		go func(name string) {
			v, err := binaryVersion(ctx, filepath.Join(dir, name))
			ch <- result{name, v, err}
		}(name)
	}
	versions := map[string]string{}
	var problems []string
	for range upstreamBinaries {
		r := <-ch
		switch {
		case r.err != nil:
			problems = append(problems, r.err.Error())
		case r.version != buildinfo.KubernetesVersion:
			problems = append(problems, fmt.Sprintf("%s reports %s, want %s (stale build)", filepath.Join(dir, r.name), r.version, buildinfo.KubernetesVersion))
		default:
			versions[r.name] = r.version
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("Kubernetes binaries not usable:\n  %s\nbuild them with `make k8s` (once per machine, a few minutes) or point --bin-dir / KDBENCH_K8S_BIN_DIR at a %s build",
			strings.Join(problems, "\n  "), buildinfo.KubernetesVersion)
	}
	return versions, nil
}

func binaryVersion(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: missing", path)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", path, err)
	}
	// "Kubernetes v1.32.13"
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] != "Kubernetes" {
		return "", fmt.Errorf("%s --version printed %q", path, strings.TrimSpace(string(out)))
	}
	return f[1], nil
}
