package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlotCommand(t *testing.T) {
	run := scriptedRun(t, "scale-pods", 0.5)
	out, err := runCmd("plot", run, "--format", "png")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, name := range []string{"fig9-scale-pods.png", "fig9-scale-pods-breakdown.png"} {
		path := filepath.Join(run, "figures", name)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("default output: %v", err)
		}
		if !strings.Contains(out, path) {
			t.Errorf("output does not list %s:\n%s", path, out)
		}
	}

	dir := t.TempDir()
	if out, err := runCmd("plot", run, scriptedRun(t, "scale-pods", 1), "-o", dir, "--format", "svg"); err != nil {
		t.Fatalf("two runs: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "fig9-scale-pods.svg")); err != nil {
		t.Error(err)
	}

	for name, args := range map[string][]string{
		"two runs without -o": {"plot", run, run},
		"unknown format":      {"plot", run, "--format", "gif"},
		"not a results dir":   {"plot", t.TempDir()},
		"no run":              {"plot"},
	} {
		if _, err := runCmd(args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
