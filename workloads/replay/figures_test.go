package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kdbench/kdbench/workloads/trace"
)

func TestDrawFigures(t *testing.T) {
	dir := t.TempDir()
	var sums []Summary
	for k, sys := range []string{"kn-model", "kn-model-kd"} {
		name := sys + "_duration_2.csv"
		f, err := trace.CreateResultFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for fn := range 5 {
			for i := range 3 {
				r := trace.Record{Phase: 2, Instance: fmt.Sprintf("fn%d-x", fn), InvocationID: fmt.Sprintf("min1.inv%d", i),
					RequestedDurationUs: 100_000, ActualDurationUs: 100_000, ResponseTimeUs: int64(100_000 + (k+1)*(fn+1)*(i+1)*1000)}
				if err := f.Write(&r); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, Summary{System: sys, ResultCSV: name, WarmupMinutes: 1})
	}
	paths, err := DrawFigures(dir, sums, []string{"svg"})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("drew %v, want the two Fig 12 panels", paths)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
}
