package controllers

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// codeLines counts the non-blank, non-comment lines of the non-test Go
// files in dir.
func codeLines(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		block := false
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			switch {
			case block:
				block = !strings.Contains(l, "*/")
			case strings.HasPrefix(l, "/*"):
				block = !strings.Contains(l, "*/")
			case l == "" || strings.HasPrefix(l, "//"):
			default:
				n++
			}
		}
		fh.Close()
	}
	return n
}

// TestAdapterLines prints the lines of Kubedirect adapter code per wrapped
// controller (the paper: ~150 each; kdbench aims at ≤ 200) and of the code
// they share, and fails if a controller's own adapter grows past 200.
func TestAdapterLines(t *testing.T) {
	shared := codeLines(t, "adapter")
	direct := codeLines(t, filepath.Join("..", "..", "clusters", "local", "nodeagent", "direct"))
	t.Logf("%-22s %5s", "adapter", "lines")
	for _, c := range []string{"deployment", "replicaset", "scheduler"} {
		n := codeLines(t, c)
		t.Logf("%-22s %5d", c, n)
		if n > 200 {
			t.Errorf("%s: %d lines of adapter code, over the 200 budget", c, n)
		}
	}
	t.Logf("%-22s %5d", "shared (adapter/)", shared)
	t.Logf("%-22s %5d", "node agent direct mode", direct)
}
