package k8sbin

import (
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/internal/buildinfo"
)

// Names are the upstream commands the local cluster runs.
var Names = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// DefaultDir is where `make k8s` puts the upstream binaries: a user cache
// keyed by version, so that every clone on the machine shares one build.
// $KDBENCH_K8S_BIN_DIR overrides it.
func DefaultDir() string {
	if d := os.Getenv("KDBENCH_K8S_BIN_DIR"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), "kdbench-cache")
	}
	return filepath.Join(cache, "kdbench", "k8s-"+buildinfo.KubernetesVersion, "bin")
}
