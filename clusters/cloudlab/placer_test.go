package cloudlab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gssh "github.com/gliderlabs/ssh"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// hostsThatRun starts in-process SSH servers that do what an OpenSSH
// server with kdbench installed does: `kdbench internal supervise` runs the
// supervisor (in this process), anything else runs under sh.
func hostsThatRun(t *testing.T, handler gssh.Handler, names ...string) (Inventory, *dialer) {
	t.Helper()
	t.Setenv("HOME", t.TempDir()) // not the tester's ~/.ssh/config
	_, clientKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(clientKey, "")
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600))
	clientPub, err := ssh.NewPublicKey(clientKey.Public())
	require.NoError(t, err)
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	require.NoError(t, err)
	var inv Inventory
	for i, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := &gssh.Server{
			Handler: handler,
			PublicKeyHandler: func(_ gssh.Context, key gssh.PublicKey) bool {
				return gssh.KeysEqual(key, clientPub)
			},
		}
		srv.AddHostKey(hostSigner)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close() })
		role := RoleWorker
		if i == 0 {
			role = RoleControlPlane
		}
		inv.Nodes = append(inv.Nodes, Node{Name: name, Role: role, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
			User: "tester", IP: fmt.Sprintf("10.10.1.%d", i+1)})
	}
	d, err := newDialer(Login{Key: keyFile}, filepath.Join(t.TempDir(), "known_hosts"), func(string) {})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return inv, d
}

// runSession runs the supervisor in this process; shSession runs every
// command under sh, as sshd does (the supervisor then is the real binary's).
func runSession(s gssh.Session) { serveSession(s, true) }
func shSession(s gssh.Session)  { serveSession(s, false) }

func serveSession(s gssh.Session, inProcess bool) {
	args := s.Command()
	if inProcess && len(args) > 3 && args[1] == "internal" && args[2] == "supervise" {
		spec, opts, err := supervisor.ParseSuperviseArgs(args[3:])
		if err == nil {
			err = supervisor.Supervise(spec, opts, s, s)
		}
		if err != nil {
			fmt.Fprintln(s.Stderr(), err)
			_ = s.Exit(1)
			return
		}
		_ = s.Exit(0)
		return
	}
	// Like sshd, nothing is killed when the client goes: the command sees
	// its stdin end.
	_, err := supervisor.Output(context.Background(), supervisor.Command{Path: "sh", Args: []string{"-c", s.RawCommand()}, Stdin: s, Stdout: s})
	if err != nil {
		_ = s.Exit(1)
		return
	}
	_ = s.Exit(0)
}

func TestPlacerOverSSH(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, d := hostsThatRun(t, runSession, "cp", "w1")
	root := t.TempDir()
	p := NewPlacer(inv, d.dial, root)
	require.Equal(t, []clusters.Host{
		{Name: "cp", Roles: []clusters.Role{clusters.RoleControlPlane}, Addr: "10.10.1.1"},
		{Name: "w1", Roles: []clusters.Role{clusters.RoleWorker}, Addr: "10.10.1.2"},
	}, p.Hosts())
	w1 := clusters.HostsWith(p, clusters.RoleWorker)[0]
	agent := clusters.Component{Name: "kd-nodeagent", Path: "sh", Args: []string{"-c", "cat pki/hop.crt; sleep 300 & wait"},
		Files: []clusters.File{{Path: "pki/hop.crt", Data: []byte("CERT-w1")}}}

	t.Run("start, files, log, signals", func(t *testing.T) {
		rp, err := p.Start(ctx, w1, agent)
		require.NoError(t, err)
		defer rp.Stop(0)
		require.Equal(t, "w1", rp.Host().Name)
		require.Equal(t, "w1:"+filepath.Join(root, "logs", "kd-nodeagent.log"), rp.Log())
		fi, err := os.Stat(filepath.Join(root, "run", "kd-nodeagent", "pki", "hop.crt"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		require.Eventually(t, func() bool { return strings.Contains(rp.LogTail(5), "CERT-w1") }, 10*time.Second, 20*time.Millisecond)
		require.NoError(t, rp.Signal(ctx, syscall.SIGSTOP))
		st, _ := supervisor.State(rp.PID())
		require.Equal(t, byte('T'), st, "stalled on its host")
		require.NoError(t, rp.Signal(ctx, syscall.SIGCONT))
		rp.Stop(time.Second)
		require.False(t, rp.Alive())
		require.True(t, supervisor.Gone(rp.PID()))
	})

	t.Run("the harness's side dies", func(t *testing.T) {
		rp, err := p.Start(ctx, w1, agent)
		require.NoError(t, err)
		pid := rp.PID()
		require.False(t, supervisor.Gone(pid))
		require.NoError(t, p.Close()) // the connection drops, as when the harness is killed
		select {
		case <-rp.Done():
		case <-ctx.Done():
			t.Fatal("the session never ended")
		}
		require.Eventually(t, func() bool { return supervisor.Gone(pid) }, 20*time.Second, 20*time.Millisecond,
			"the component (pid %d) outlived its harness", pid)
	})

	t.Run("errors name the component and host", func(t *testing.T) {
		_, err := p.Start(ctx, clusters.Host{Name: "w9"}, agent)
		require.ErrorContains(t, err, `kd-nodeagent on w9: no host "w9" in the inventory`)
		_, err = p.Start(ctx, w1, clusters.Component{Name: "kd-scheduler", Path: "/nonexistent/kdbench"})
		require.ErrorContains(t, err, "kd-scheduler on w1: did not start")
		require.ErrorContains(t, err, "binary /nonexistent/kdbench")
		_, err = p.Start(ctx, w1, clusters.Component{Name: "x", Path: "true", Files: []clusters.File{{Path: "../../etc/x"}}})
		require.ErrorContains(t, err, "want a path inside")
	})
}

// TestRealSuperviseCommand: the same lifeline through `kdbench internal
// supervise` itself, run by the host's shell.
func TestRealSuperviseCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kdbench; skipped with -short")
	}
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, d := hostsThatRun(t, shSession, "cp")
	p := NewPlacer(inv, d.dial, t.TempDir())
	p.Kdbench = bin
	rp, err := p.Start(ctx, p.Hosts()[0], clusters.Component{Name: "sleeper", Path: "sh", Args: []string{"-c", "sleep 300 & echo $! > child; wait"}})
	require.NoError(t, err)
	var child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(p.Root, "run", "sleeper", "child"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && child > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, rp.Signal(ctx, syscall.SIGSTOP))
	st, _ := supervisor.State(rp.PID())
	require.Equal(t, byte('T'), st)
	require.NoError(t, rp.Signal(ctx, syscall.SIGCONT))
	require.NoError(t, p.Close())
	require.Eventually(t, func() bool { return supervisor.Gone(rp.PID()) && supervisor.Gone(child) }, 20*time.Second, 20*time.Millisecond,
		"the component or its child outlived the dropped connection")
}
