package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Writing the example fixture reproduces its bytes (it lacks only the final
// newline), and reading back gives the same trace.
func TestWriteRoundTripExample(t *testing.T) {
	tr := mustLoad(t, exampleDir)
	dir := filepath.Join(t.TempDir(), "out")
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{InvocationsFile, DurationsFile, MemoryFile} {
		want, _ := os.ReadFile(filepath.Join(exampleDir, name))
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimRight(got, "\n"), bytes.TrimRight(want, "\n")) {
			t.Errorf("%s differs from the fixture", name)
		}
	}
	if back := mustLoad(t, dir); !reflect.DeepEqual(back, tr) {
		t.Error("read-back trace differs")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the output, want 3 (temporary files left?)", len(entries))
	}
}

// The edge fixture's reordered columns and unreferenced rows normalise to
// the canonical layout without changing the trace.
func TestWriteRoundTripEdge(t *testing.T) {
	tr := mustLoad(t, edgeDir)
	dir := t.TempDir()
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	back := mustLoad(t, dir)
	if !reflect.DeepEqual(back, tr) {
		t.Fatal("read-back trace differs")
	}
	b, _ := os.ReadFile(filepath.Join(dir, DurationsFile))
	if !strings.HasPrefix(string(b), "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,") {
		t.Errorf("durations.csv header not canonical: %.80s", b)
	}
	if !strings.Contains(string(b), ",0.5,3.7,") {
		t.Errorf("fractional percentiles not kept: %s", b)
	}
}

func TestWriteRejectsRaggedFunctions(t *testing.T) {
	tr := mustLoad(t, edgeDir)
	tr.Functions[2].Invocations = tr.Functions[2].Invocations[:5]
	dir := t.TempDir()
	if err := tr.Write(dir); err == nil || !strings.Contains(err.Error(), "function 2 (fc)") {
		t.Fatalf("Write = %v", err)
	}
	if err := (&Trace{}).Write(dir); err == nil {
		t.Fatal("empty trace written")
	}
}

func TestFormatFloat(t *testing.T) {
	for v, want := range map[float64]string{100: "100.0", 0: "0.0", 0.5: "0.5", 250.9: "250.9", -3: "-3.0", 1e20: "100000000000000000000", 1.0 / 3: "0.3333333333333333"} {
		if got := formatFloat(v); got != want {
			t.Errorf("formatFloat(%v) = %q, want %q", v, got, want)
		}
	}
}
