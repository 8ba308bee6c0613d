package trace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadExampleFixture(t *testing.T) {
	tr := mustLoad(t, exampleDir)
	if !tr.HasTrigger {
		t.Error("HasTrigger = false, the fixture has a Trigger column")
	}
	if got := len(tr.Functions); got != 4 {
		t.Fatalf("%d functions, want 4", got)
	}
	if got := tr.Minutes(); got != 1440 {
		t.Errorf("Minutes() = %d, want 1440", got)
	}
	f := tr.Functions[0]
	if !strings.HasPrefix(f.HashFunction, "c13acdc7") || f.Trigger != "queue" || f.Invocations[0] != 5 || f.Invocations[230] != 0 {
		t.Errorf("first function parsed wrong: %s %s %v", f.HashFunction, f.Trigger, f.Invocations[:3])
	}
	if got := f.TotalInvocations(1440); got != 1150 {
		t.Errorf("TotalInvocations = %d, want 1150", got)
	}
	wantDur := DurationStats{
		HashOwner: f.HashOwner, HashApp: f.HashApp,
		Average: 100, Count: 57523, Minimum: 99, Maximum: 101,
		Percentiles: [7]float64{99, 99, 99, 100, 101, 101, 101},
	}
	if f.Duration != wantDur {
		t.Errorf("durations = %+v, want %+v", f.Duration, wantDur)
	}
	wantMem := MemoryStats{
		HashOwner: f.HashOwner, HashApp: f.HashApp, SampleCount: 19342, Average: 120,
		Percentiles: [8]float64{100, 102, 114, 123, 127, 136, 143, 152},
	}
	if f.Memory != wantMem {
		t.Errorf("memory = %+v, want %+v", f.Memory, wantMem)
	}
	if last := tr.Functions[3]; last.Trigger != "timer" || last.Memory.Percentiles[7] != 113 {
		t.Errorf("last function: trigger %q, memory %v", last.Trigger, last.Memory.Percentiles)
	}
}

// The edge fixture has no Trigger column, durations.csv columns in another
// order with an extra column, rows in another order and an unreferenced row
// with Count 0 (which the loader tolerates).
func TestLoadEdgeFixture(t *testing.T) {
	tr := mustLoad(t, edgeDir)
	if tr.HasTrigger {
		t.Error("HasTrigger = true")
	}
	if len(tr.Functions) != 6 || tr.Minutes() != 12 {
		t.Fatalf("%d functions, %d minutes", len(tr.Functions), tr.Minutes())
	}
	fa := tr.Functions[0]
	if fa.HashFunction != "fa" || fa.Duration.Percentiles != [7]float64{0, 0.5, 3.7, 10, 250.9, 70000, 120000} {
		t.Errorf("fa durations %v", fa.Duration.Percentiles)
	}
	if fa.Duration.HashOwner != "ownfa" || fa.Memory.Percentiles[7] != 30000 {
		t.Errorf("fa: %+v %+v", fa.Duration, fa.Memory)
	}
}

// editFile rewrites one file of a copy of the edge fixture.
type edit func(lines []string) []string

func setCell(line, col int, v string) edit {
	return func(ls []string) []string {
		cells := strings.Split(ls[line-1], ",")
		cells[col-1] = v
		ls[line-1] = strings.Join(cells, ",")
		return ls
	}
}

func dropCell(line, col int) edit {
	return func(ls []string) []string {
		cells := strings.Split(ls[line-1], ",")
		ls[line-1] = strings.Join(append(cells[:col-1], cells[col:]...), ",")
		return ls
	}
}

func setLine(line int, v string) edit {
	return func(ls []string) []string { ls[line-1] = v; return ls }
}

func dropLine(line int) edit {
	return func(ls []string) []string { return append(ls[:line-1], ls[line:]...) }
}

func keepLines(n int) edit {
	return func(ls []string) []string { return ls[:n] }
}

func copyEdge(t *testing.T, file string, e edit) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{InvocationsFile, DurationsFile, MemoryFile} {
		b, err := os.ReadFile(filepath.Join(edgeDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == file && e != nil {
			ls := e(strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
			b = []byte(strings.Join(ls, "\n") + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadMalformed(t *testing.T) {
	// Edge fixture layout: invocations.csv rows fa..ff on lines 2..7;
	// durations.csv rows zz,ff,fe,fd,fc,fb,fa on lines 2..8 with Count in
	// column 5 and Average in 6; memory.csv rows fd,fa,fb,fc,ff,fe on lines
	// 2..7 with SampleCount in column 4 and pct1..pct100 in 6..13.
	cases := []struct {
		name       string
		file       string
		edit       edit
		wantFile   string
		line, col  int
		wantColumn string
		kind       error
	}{
		{"invocations missing HashApp", InvocationsFile, setCell(1, 2, "HashXpp"), InvocationsFile, 1, 0, "", ErrHeader},
		{"invocations empty file", InvocationsFile, keepLines(0), InvocationsFile, 0, 0, "", ErrHeader},
		{"invocations header only", InvocationsFile, keepLines(1), InvocationsFile, 0, 0, "", ErrEmpty},
		{"invocations no minute columns", InvocationsFile, func(ls []string) []string {
			return []string{"HashOwner,HashApp,HashFunction,Trigger", "o,a,fa,http"}
		}, InvocationsFile, 1, 0, "", ErrHeader},
		{"invocations ragged row", InvocationsFile, dropCell(4, 9), InvocationsFile, 4, 0, "", ErrRagged},
		{"invocations non-numeric count", InvocationsFile, setCell(3, 5, "x"), InvocationsFile, 3, 5, "2", ErrNotNumber},
		{"invocations fractional count", InvocationsFile, setCell(2, 4, "3.0"), InvocationsFile, 2, 4, "1", ErrNotNumber},
		{"invocations empty count", InvocationsFile, setCell(7, 15, ""), InvocationsFile, 7, 15, "12", ErrNotNumber},
		{"invocations negative count", InvocationsFile, setCell(5, 10, "-1"), InvocationsFile, 5, 10, "7", ErrNegative},
		{"invocations bare quote", InvocationsFile, setCell(6, 3, `f"e`), InvocationsFile, 6, 0, "", nil},
		{"durations missing percentile column", DurationsFile, setCell(1, 9, "p50"), DurationsFile, 1, 0, "", ErrHeader},
		{"durations repeated column", DurationsFile, setCell(1, 1, "Count"), DurationsFile, 1, 5, "Count", ErrHeader},
		{"durations missing join row", DurationsFile, dropLine(6), InvocationsFile, 4, 3, "HashFunction", ErrMissingJoin},
		{"durations zero Count", DurationsFile, setCell(8, 5, "0"), DurationsFile, 8, 5, "Count", ErrNonPositive},
		{"durations negative Count", DurationsFile, setCell(7, 5, "-3.0"), DurationsFile, 7, 5, "Count", ErrNonPositive},
		{"durations non-numeric Average", DurationsFile, setCell(3, 6, "abc"), DurationsFile, 3, 6, "Average", ErrNotNumber},
		{"durations empty percentile", DurationsFile, setCell(4, 3, ""), DurationsFile, 4, 3, "percentile_Average_100", ErrNotNumber},
		{"durations NaN", DurationsFile, setCell(5, 12, "NaN"), DurationsFile, 5, 12, "Minimum", ErrNotNumber},
		{"durations duplicate HashFunction", DurationsFile, setCell(2, 2, "fa"), DurationsFile, 8, 2, "HashFunction", ErrDuplicateKey},
		{"durations decreasing percentiles", DurationsFile, setCell(6, 9, "65"), DurationsFile, 6, 9, "percentile_Average_50", ErrPercentileOrder},
		{"durations ragged row", DurationsFile, setLine(5, "x,fd,5"), DurationsFile, 5, 0, "", ErrRagged},
		{"memory missing join row", MemoryFile, dropLine(7), InvocationsFile, 6, 3, "HashFunction", ErrMissingJoin},
		{"memory zero SampleCount", MemoryFile, setCell(5, 4, "0.0"), MemoryFile, 5, 4, "SampleCount", ErrNonPositive},
		{"memory missing column", MemoryFile, setCell(1, 4, "Samples"), MemoryFile, 1, 0, "", ErrHeader},
		{"memory non-numeric percentile", MemoryFile, setCell(3, 13, "lots"), MemoryFile, 3, 13, "AverageAllocatedMb_pct100", ErrNotNumber},
		{"memory decreasing percentiles", MemoryFile, setCell(4, 8, "5"), MemoryFile, 4, 8, "AverageAllocatedMb_pct25", ErrPercentileOrder},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyEdge(t, tc.file, tc.edit)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load accepted malformed input")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			// Errors name the full path: every trace directory has the same
			// three file names.
			wantPath := filepath.Join(dir, tc.wantFile)
			if pe.File != wantPath || pe.Line != tc.line || pe.Column != tc.col || pe.Name != tc.wantColumn {
				t.Errorf("error at %s line %d column %d (%q), want %s line %d column %d (%q): %v",
					pe.File, pe.Line, pe.Column, pe.Name, wantPath, tc.line, tc.col, tc.wantColumn, err)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("error %v is not %v", err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), wantPath) {
				t.Errorf("message %q does not start with the file's path", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := copyEdge(t, "", nil)
	if err := os.Remove(filepath.Join(dir, MemoryFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), MemoryFile) {
		t.Fatalf("Load without memory.csv: %v", err)
	}
}

// A byte-order mark is named when it is the problem (the loader's reader
// would take it for part of the first column name), with the full path.
func TestLoadNamesByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, InvocationsFile)
	if err := os.WriteFile(path, []byte("\ufeffHashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), "byte-order mark") {
		t.Fatalf("Load: %v; want the path and the byte-order mark named", err)
	}
}

// Result CSVs are read as pandas reads them: a leading byte-order mark is
// skipped.
func TestReadResultsSkipsByteOrderMark(t *testing.T) {
	csv := "\ufeff" + strings.Join(ResultColumns, ",") + "\n2,f-1,min10.inv0,1,100,0,200,100,false,false,0,false,0,0,0\n"
	recs, err := ReadResults(strings.NewReader(csv), "/x/r.csv")
	if err != nil || len(recs) != 1 || recs[0].Instance != "f-1" {
		t.Fatalf("ReadResults = %+v, %v", recs, err)
	}
}
