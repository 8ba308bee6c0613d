package results

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/internal/stats"
)

func TestWriteTableGolden(t *testing.T) {
	m := testManifest()
	m.QPSProfiles = []string{"default", "tuned"}
	w, err := Create(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	for _, prof := range m.QPSProfiles {
		for _, sys := range m.Systems {
			for rep := 0; rep < 3; rep++ {
				id := RepID{System: sys, QPSProfile: prof, Size: 10, Rep: rep, Warmup: rep == 0}
				speed := speeds[sys] * (1 + 0.1*float64(rep))
				if prof == "tuned" {
					speed /= 3
				}
				if err := w.AppendPods(id, synthPods(10, speed)); err != nil {
					t.Fatal(err)
				}
				if err := w.MarkRep(id, RepOK, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.AddSelfChecks(NewSelfCheck(RepID{System: "k8s", QPSProfile: "default", Size: 10, Rep: 1}, CheckClientThrottle, "s", 1.5, 0.1, "client-go rate limiter")); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, w, nil, stats.BootstrapOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden.txt", []byte(strings.ReplaceAll(buf.String(), w.Dir, "<run>")))
}
