package cloudlab

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got), "%s differs; run go test -update and review the diff", path)
}

func TestProfileGolden(t *testing.T) {
	got, err := Profile(ProfileParams{Nodes: 80, Hardware: "xl170", OS: "UBUNTU22-64-STD"})
	require.NoError(t, err)
	golden(t, "profile-80-xl170.py", got)
}

func TestProfileValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    ProfileParams
		ok   bool
	}{
		{"paper", ProfileParams{80, "xl170", "UBUNTU22-64-STD"}, true},
		{"smallest", ProfileParams{2, "m510", "UBUNTU22-64-STD"}, true},
		{"largest", ProfileParams{MaxNodes, "xl170", "UBUNTU22-64-STD"}, true},
		{"no workers", ProfileParams{1, "xl170", "UBUNTU22-64-STD"}, false},
		{"beyond the /24", ProfileParams{MaxNodes + 1, "xl170", "UBUNTU22-64-STD"}, false},
		{"python injection in hardware", ProfileParams{80, `xl170"); import os; ("`, "UBUNTU22-64-STD"}, false},
		{"empty os", ProfileParams{80, "xl170", ""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Profile(tc.p)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestNodeName(t *testing.T) {
	require.Equal(t, "cp", NodeName(0))
	require.Equal(t, "w1", NodeName(1))
	require.Equal(t, "w79", NodeName(79))
}
