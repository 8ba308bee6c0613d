package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runAE(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := newAECmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestAEDryRun(t *testing.T) {
	out, err := runAE("--dry-run")
	require.NoError(t, err, out)
	for _, want := range []string{"profile kick-the-tires", "scale-pods/k8s", "will run",
		"azure-trace/kn-model-kd", "failover/kd+", "estimated time:"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "not available", "every step of kick-the-tires runs in this build")
	require.NotContains(t, out, "exceeds its budget")
	require.NotContains(t, out, "output:", "a dry run creates nothing")
}

func TestAEErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\nname: x\n"), 0o644))
	qps := filepath.Join(t.TempDir(), "qps.yaml")
	require.NoError(t, os.WriteFile(qps, []byte(`version: 1
name: q
nodes: 5
cost: {clusterUp: 1s, perRep: 1s, perPod: {"*": 1ms}}
experiments:
  - {name: scale-pods, systems: [kd], sizes: [10], reps: 3, qpsProfiles: [turbo]}
`), 0o644))
	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"unknown profile":      {[]string{"--profile", "quick", "--dry-run"}, "no such built-in profile"},
		"invalid profile":      {[]string{"--profile", bad, "--dry-run"}, "nodes 0: must be positive"},
		"unknown QPS profile":  {[]string{"--profile", qps, "--dry-run"}, `QPS profile "turbo"`},
		"missing results dir":  {[]string{"--from-results", filepath.Join(t.TempDir(), "none")}, "--from-results"},
		"unexpected arguments": {[]string{"kick-the-tires"}, "unknown command"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runAE(tt.args...)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestAEFromResults(t *testing.T) {
	run := scriptedRun(t, "scale-pods", 2)
	dir := filepath.Dir(run)
	out, err := runAE("--from-results", dir)
	require.NoError(t, err, out)
	require.Contains(t, out, "upscaling-kd-vs-k8s")
	require.Contains(t, out, filepath.Join(dir, "report.md"))
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(md), "fig9-scale-pods"), "the figure of the run is drawn and linked")
	require.FileExists(t, filepath.Join(dir, "report.html"))
}
