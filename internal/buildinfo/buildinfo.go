// Package buildinfo holds the versions that every result records.
package buildinfo

import "runtime/debug"

// Version is kdbench's own version; the Makefile may override it with -ldflags -X.
var Version = "v0.1.0-dev"

// KubernetesVersion is the upstream Kubernetes release the local cluster runs.
const KubernetesVersion = "v1.32.13"

// revision is set by the Makefile with -ldflags -X.
var revision string

// Revision returns the VCS revision the binary was built from, or "unknown"
// (for example under `go test` or with -buildvcs=false).
func Revision() string {
	if revision != "" {
		return revision
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
