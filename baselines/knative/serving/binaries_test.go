package serving

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckBinaries(t *testing.T) {
	empty := t.TempDir()
	notGo := t.TempDir()
	if err := os.WriteFile(filepath.Join(notGo, "activator"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // a Go binary, but not knative.dev/serving
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, bin string
		want           []string
	}{
		{"missing", empty, "activator", []string{filepath.Join(empty, "activator") + ": missing", "make knative", "KDBENCH_KNATIVE_BIN_DIR"}},
		{"not a Go binary", notGo, "activator", []string{filepath.Join(notGo, "activator") + ":", "make knative"}},
		{"another module", filepath.Dir(self), filepath.Base(self), []string{"want knative.dev/serving " + Version, "stale build"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBinaries(tc.dir, tc.bin)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
