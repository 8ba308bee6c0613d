package local

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/internal/supervisor"
)

func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func TestCheckBinaries(t *testing.T) {
	ctx := context.Background()
	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		_, err := checkBinaries(ctx, dir)
		require.ErrorContains(t, err, filepath.Join(dir, "kube-apiserver")+": missing")
		require.ErrorContains(t, err, "make k8s")
	})
	t.Run("stale", func(t *testing.T) {
		dir := t.TempDir()
		for _, b := range upstreamBinaries {
			script(t, dir, b, `echo "Kubernetes v1.31.0"`)
		}
		_, err := checkBinaries(ctx, dir)
		require.ErrorContains(t, err, "reports v1.31.0, want v1.32.13 (stale build)")
	})
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		for _, b := range upstreamBinaries {
			script(t, dir, b, `echo "hello"`)
		}
		_, err := checkBinaries(ctx, dir)
		require.ErrorContains(t, err, `--version printed "hello"`)
	})
	t.Run("ok", func(t *testing.T) {
		dir := t.TempDir()
		for _, b := range upstreamBinaries {
			script(t, dir, b, `echo "Kubernetes v1.32.13"`)
		}
		v, err := checkBinaries(ctx, dir)
		require.NoError(t, err)
		require.Equal(t, "v1.32.13", v["kube-scheduler"])
	})
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	err = checkPortFree("kube-apiserver", port)
	require.ErrorContains(t, err, "kube-apiserver: port "+strconv.Itoa(port)+" on 127.0.0.1 is in use")

	p := New(Options{APIServerPort: port})
	_, err = p.allocatePorts()
	require.ErrorContains(t, err, "is in use")
}

func TestLockExcludesSecondCommand(t *testing.T) {
	l := layout{root: t.TempDir()}
	unlock, err := l.lock()
	require.NoError(t, err)
	// flock locks belong to open file descriptions, so a second open in the
	// same process conflicts just as another process would.
	_, err = l.lock()
	require.ErrorContains(t, err, "another kdbench command is starting or stopping this cluster")
	unlock()
	unlock2, err := l.lock()
	require.NoError(t, err)
	unlock2()
}

// TestPortTakenAtStartIsRetried: a component that lost its picked port to
// another process is retried with fresh ports; a port the user fixed, a
// component that fails otherwise, or one that never got healthy is not.
func TestPortTakenAtStartIsRetried(t *testing.T) {
	dir := t.TempDir()
	exitWith := func(name, msg string) error {
		c := component{Name: name, Path: script(t, dir, name, `echo '`+msg+`' >&2; exit 1`),
			Log: filepath.Join(dir, name+".log"), Healthy: func(context.Context, int) error { return os.ErrNotExist }}
		p, err := startProcess(c, true)
		require.NoError(t, err)
		return supervisor.WaitHealthy(context.Background(), p, c.Healthy, 30*time.Second)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	fixed := checkPortFree("kube-apiserver", l.Addr().(*net.TCPAddr).Port)
	require.Error(t, fixed)

	for _, tc := range []struct {
		name  string
		err   error
		retry bool
	}{
		{"lost its port", exitWith("kube-apiserver", `E1201 run.go:72] "command failed" err="failed to listen on 127.0.0.1:45677: listen tcp 127.0.0.1:45677: bind: address already in use"`), true},
		{"etcd lost its port", exitWith("etcd", `listen tcp 127.0.0.1:2379: bind: address already in use`), true},
		{"bad flag", exitWith("kube-scheduler", `E0101 flag provided but not defined: -bogus`), false},
		{"user-fixed port taken", fixed, false},
		{"never healthy", errors.New("kube-scheduler not healthy after 1m (last check: address already in use)"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.retry, portTakenAtStart(tc.err), tc.err.Error())
		})
	}
}
