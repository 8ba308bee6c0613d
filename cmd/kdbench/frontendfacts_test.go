package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/workloads/replay"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestFrontEndFacts: every FaaS system built in states what its front-end
// is made of (the trace result's manifest records it), and what each states
// is pinned in testdata/frontend-facts.golden.json.
func TestFrontEndFacts(t *testing.T) {
	got := map[string]replay.FrontEndFacts{}
	for _, name := range baselines.Names() {
		s, err := baselines.Get(name)
		require.NoError(t, err)
		if _, ok := s.(replay.FrontEnder); !ok {
			continue
		}
		d, ok := s.(replay.Describer)
		require.True(t, ok, "system %s has a front-end but does not state its components (replay.Describer)", name)
		got[name] = d.FrontEndFacts()
	}
	b, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	b = append(b, '\n')
	golden := filepath.Join("testdata", "frontend-facts.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, b, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "go test ./cmd/kdbench -run FrontEndFacts -update creates it")
	require.Equal(t, string(want), string(b))
}
