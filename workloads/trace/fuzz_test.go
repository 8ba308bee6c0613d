package trace

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Fuzz targets for the trace parsers. Load and ReadResults promise a
// *ParseError naming file, line and column for any malformed input: a
// panic, or any other error, is a bug. `make fuzz` fuzzes each briefly.

func readSeed(f *testing.F, dir, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"testdata/edge", exampleDir} {
		f.Add(readSeed(f, dir, InvocationsFile), readSeed(f, dir, DurationsFile), readSeed(f, dir, MemoryFile))
	}
	edgeInv := readSeed(f, "testdata/edge", InvocationsFile)
	f.Add(edgeInv, []byte(""), []byte("HashFunction\n"))
	f.Add([]byte("HashOwner,HashApp,HashFunction,1\no,a,f,-1\n"), []byte("\"x"), []byte("\xff\xfe"))
	f.Add([]byte("HashOwner,HashApp,HashFunction,1,2\no,a,f,1e308,NaN\n"), readSeed(f, "testdata/edge", DurationsFile), readSeed(f, "testdata/edge", MemoryFile))
	f.Fuzz(func(t *testing.T, inv, dur, mem []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{InvocationsFile: inv, DurationsFile: dur, MemoryFile: mem} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tr, err := Load(dir)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			return
		}
		if tr.Minutes() < 0 || len(tr.Functions) == 0 && tr.Minutes() != 0 {
			t.Fatalf("loaded %d functions over %d minutes", len(tr.Functions), tr.Minutes())
		}
	})
}

// FuzzReadResults: records that read back write back to the same records.
func FuzzReadResults(f *testing.F) {
	f.Add(readSeed(f, "testdata/golden", "loader_results.csv"))
	f.Add([]byte(""))
	f.Add([]byte("phase,instance\n1,x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadResults(bytes.NewReader(data), "results.csv")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			return
		}
		var buf bytes.Buffer
		w := NewResultWriter(&buf)
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		again, err := ReadResults(&buf, "results.csv")
		if err != nil {
			t.Fatalf("reading back what was written: %v\n%s", err, buf.Bytes())
		}
		if len(recs) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(recs, again) {
			t.Fatalf("round trip changed the records:\n%+v\n%+v", recs, again)
		}
	})
}
