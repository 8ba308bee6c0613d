package trace

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// goldenRecords are the records the loader's own CSV writer
// (metric.RunCSVWriter, gocsv) turned into testdata/golden/loader_results.csv,
// in a throw-away program built in a checkout of the loader at f2113a7e.
var goldenRecords = []Record{
	{Phase: 1, Instance: "f0-00001-deployment-abc", InvocationID: "min0.inv0", StartTime: 1700000000000000,
		RequestedDurationUs: 120000, GRPCConnEstablishUs: 350, ResponseTimeUs: 2500000, ActualDurationUs: 121000,
		ActualMemoryUsageMiB: 128, TimeToSubmitUs: 10, UserCodeExecutionUs: 121000, TimeToGetResponseUs: 5},
	{Phase: 2, Instance: "f1-xyz", InvocationID: "min10.inv3", StartTime: 1700000600123456,
		RequestedDurationUs: 1000, ConnectionTimeout: true, MemoryAllocationTimeout: true},
	{Phase: 2, Instance: "f,quoted", InvocationID: "min11.inv0", StartTime: 1700000660000000,
		RequestedDurationUs: 60000000, ResponseTimeUs: 60001000, ActualDurationUs: 60000500, FunctionTimeout: true,
		ActualMemoryUsageMiB: 10240},
}

func TestResultWriterMatchesLoader(t *testing.T) {
	want, err := os.ReadFile("testdata/golden/loader_results.csv")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewResultWriter(&buf)
	for i := range goldenRecords {
		if err := w.Write(&goldenRecords[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("written CSV differs from the loader's:\n%s\nwant\n%s", buf.String(), want)
	}
	got, err := ReadResults(bytes.NewReader(want), "loader_results.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goldenRecords) {
		t.Errorf("read back %+v", got)
	}
}

func TestResultFileIsRenamedOnClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ResultFileName("kn-model-kd", 30))
	if filepath.Base(path) != "kn-model-kd_duration_30.csv" {
		t.Fatalf("name %s", path)
	}
	rf, err := CreateResultFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rf.Write(&goldenRecords[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("final file visible before Close: %v", err)
	}
	if err := rf.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResultsFile(path)
	if err != nil || len(got) != 1 || got[0] != goldenRecords[0] {
		t.Fatalf("ReadResultsFile = %v, %v", got, err)
	}
	rf, err = CreateResultFile(filepath.Join(dir, "aborted.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rf.Abort(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files left, want only the closed one", len(entries))
	}
}

func TestReadResultsErrors(t *testing.T) {
	header := strings.Join(ResultColumns, ",")
	row := "2,f-1,min10.inv0,1,1000,0,2000,1000,false,false,1,false,0,0,0"
	cases := []struct {
		name, csv string
		line, col int
	}{
		{"missing column", strings.Replace(header, ",timeToGetResponseMs", "", 1) + "\n", 1, 0},
		{"non-numeric", header + "\n" + strings.Replace(row, "2000", "2e3", 1) + "\n", 2, 7},
		{"bad boolean", header + "\n" + strings.Replace(row, "false,false,1", "maybe,false,1", 1) + "\n", 2, 9},
		{"ragged", header + "\n" + row + ",extra\n", 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadResults(strings.NewReader(tc.csv), "r.csv")
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != tc.line || pe.Column != tc.col {
				t.Fatalf("err = %v, want r.csv line %d column %d", err, tc.line, tc.col)
			}
		})
	}
}
