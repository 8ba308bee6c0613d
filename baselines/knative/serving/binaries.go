package serving

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Version is the Knative Serving release kdbench runs (Knative 1.15, the
// paper's), as the Go module version of knative.dev/serving.
const Version = "v0.42.2"

// Release is Version's Knative release name.
const Release = "1.15"

// Commands are the knative.dev/serving commands `make knative` builds. The
// webhook is built but not run (docs/knative.md).
var Commands = []string{"controller", "autoscaler", "activator", "webhook"}

// BinDir is where `make knative` puts the binaries, shared by every clone on
// the machine; $KDBENCH_KNATIVE_BIN_DIR overrides it.
func BinDir() string {
	if d := os.Getenv("KDBENCH_KNATIVE_BIN_DIR"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), "kdbench-cache")
	}
	return filepath.Join(cache, "kdbench", "knative-"+Version, "bin")
}

// ConfigDir is where `make knative` copies the modules' config/ trees
// (serving, networking, caching), beside BinDir.
func ConfigDir(binDir string) string { return filepath.Join(binDir, "..", "config") }

// CheckBinaries verifies that each command in names exists in dir and was
// built from knative.dev/serving at Version (its Go build info), and that
// the config trees are there.
func CheckBinaries(dir string, names ...string) error {
	var problems []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err != nil {
			problems = append(problems, p+": missing")
			continue
		}
		info, err := buildinfo.ReadFile(p)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", p, err))
		case info.Main.Path != "knative.dev/serving" || info.Main.Version != Version:
			problems = append(problems, fmt.Sprintf("%s: built from %s %s, want knative.dev/serving %s (stale build)", p, info.Main.Path, info.Main.Version, Version))
		}
	}
	for _, m := range []string{"serving", "networking", "caching"} {
		if _, err := os.Stat(filepath.Join(ConfigDir(dir), m)); err != nil {
			problems = append(problems, fmt.Sprintf("%s: missing", filepath.Join(ConfigDir(dir), m)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("Knative Serving binaries not usable:\n  %s\nbuild them with `make knative` (once per machine, a few minutes) or point KDBENCH_KNATIVE_BIN_DIR at a knative.dev/serving %s build",
			strings.Join(problems, "\n  "), Version)
	}
	return nil
}
