package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
)

func TestPlacerStartsWithFilesAndStopsAtDown(t *testing.T) {
	l := layout{root: t.TempDir()}
	require.NoError(t, l.mkdirs())
	pl := newPlacer(l, "/nonexistent/kdbench")
	ctx := context.Background()
	c := clusters.Component{Name: "kd-scheduler", Path: "sh",
		Args:  []string{"-c", "cat pki/hop.crt; exec sleep 60"},
		Files: []clusters.File{{Path: "pki/hop.crt", Data: []byte("CERT")}}}
	_, err := pl.Start(ctx, clusters.Host{Name: "w1"}, c)
	require.ErrorContains(t, err, `kd-scheduler: no host "w1" in a local cluster`)
	_, err = pl.Start(ctx, Host, clusters.Component{Name: "x", Path: "true", Files: []clusters.File{{Path: "../escape"}}})
	require.ErrorContains(t, err, "want a path inside")

	p, err := pl.Start(ctx, Host, c)
	require.NoError(t, err)
	require.Equal(t, Host, p.Host())
	require.Eventually(t, func() bool { return strings.Contains(p.LogTail(5), "CERT") }, 10*time.Second, 10*time.Millisecond,
		"the component reads its files relative to its directory")
	fi, err := os.Stat(filepath.Join(l.Root(), "run", "kd-scheduler", "pki", "hop.crt"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Equal(t, filepath.Join(l.Logs(), "kd-scheduler.log"), p.Log())

	_, err = pl.Start(ctx, Host, clusters.Component{Name: "kd-nodeagent", Args: []string{"x"}})
	require.ErrorContains(t, err, "kd-nodeagent: binary /nonexistent/kdbench", "Path \"\" runs kdbench")

	pl.stopAll()
	require.False(t, p.Alive())
	<-p.Done()
}
