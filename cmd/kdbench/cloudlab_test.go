package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters/cloudlab"
)

func execRoot(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	return out.String(), err
}

func TestCloudLabProfileCommand(t *testing.T) {
	want, err := cloudlab.Profile(cloudlab.ProfileParams{Nodes: 12, Hardware: "m510", OS: "UBUNTU22-64-STD"})
	require.NoError(t, err)
	out, err := execRoot("cloudlab", "profile", "--nodes", "12", "--hardware", "m510")
	require.NoError(t, err)
	require.Equal(t, string(want), out)

	path := filepath.Join(t.TempDir(), "profile.py")
	_, err = execRoot("cloudlab", "profile", "--nodes", "12", "--hardware", "m510", "-o", path)
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, want, got)

	_, err = execRoot("cloudlab", "profile", "--nodes", "1")
	require.ErrorContains(t, err, "--nodes 1")
}

func TestClusterUpDryRun(t *testing.T) {
	home := t.TempDir()
	manifest := filepath.Join("..", "..", "clusters", "cloudlab", "testdata", "manifest.xml")
	bin := filepath.Join("..", "..", "clusters", "cloudlab", "testdata", "kdbench-binary")
	out, err := execRoot("cluster", "up", "--provider", "cloudlab", "--home", home, "--inventory", manifest,
		"--kdbench-binary", bin, "--qps-profile", "tuned", "--dry-run")
	require.NoError(t, err)
	require.Contains(t, out, "3 nodes (control plane cp, 2 workers), QPS profile tuned")
	require.Contains(t, out, "w10: [prepare] os-prep")
	entries, err := os.ReadDir(home)
	require.NoError(t, err)
	require.Empty(t, entries, "--dry-run must not create anything")

	_, err = execRoot("cluster", "up", "--provider", "local", "--dry-run")
	require.ErrorContains(t, err, "--dry-run is for --provider cloudlab")
}
