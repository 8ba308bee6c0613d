package metrics

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzReadLog: the artifact log reader never panics; every record it
// returns came from a line plot.py's pattern matches, and writing it back
// in the driver's format reads back the same values; the accumulator takes
// whatever it returns.
func FuzzReadLog(f *testing.F) {
	for _, name := range []string{"kd/run1/kd.500.log", "k8s+/run1/k8s+.500.log"} {
		b, err := os.ReadFile(filepath.Join(artifactTree, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\ufeffID: default/trace-1-0/0, TS: 1.0s, Delay: +1.0ms, Runtime: 1.0/1ms\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := readLog(bytes.NewReader(data), "fuzz.log")
		if err != nil {
			return
		}
		a := NewAccumulator(Artifact, SystemKnKd, 10)
		for i := range lf.Records {
			r := lf.Records[i]
			line := fmt.Sprintf("ID: default/trace-%d-0/0, TS: %ss, Delay: +%sms, Runtime: %s/%dms", r.Function,
				fmtFloat(r.TS), fmtFloat(r.DelayMs), fmtFloat(r.ActualMs), r.RequestedMs)
			back, err := readLog(bytes.NewReader([]byte(line)), "back.log")
			if math.IsInf(r.TS, 0) || math.IsInf(r.DelayMs, 0) || math.IsInf(r.ActualMs, 0) {
				continue // a 400-digit number parses to +Inf, which has no [\d.]+ spelling
			}
			if err != nil || len(back.Records) != 1 {
				t.Fatalf("record %+v written as %q does not read back: %v", r, line, err)
			}
			b := back.Records[0]
			if b.Function != r.Function || b.TS != r.TS || b.DelayMs != r.DelayMs || b.ActualMs != r.ActualMs || b.RequestedMs != r.RequestedMs {
				t.Fatalf("record %+v read back as %+v", r, b)
			}
			a.AddLog(&r)
		}
		for _, m := range Metrics {
			a.PerFunction(m)
		}
	})
}

// fmtFloat spells v in [\d.]+ with the fewest digits that read back exactly.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
