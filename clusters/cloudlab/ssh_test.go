package cloudlab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	gssh "github.com/gliderlabs/ssh"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kdbench/kdbench/clusters"
)

func writeKey(t *testing.T, path string) {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(k, "")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
}

func TestLoginFromSSHConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("USER", "local")
	writeKey(t, filepath.Join(home, ".ssh", "cloudlab"))
	cfg := filepath.Join(home, "ssh_config")
	require.NoError(t, os.WriteFile(cfg, []byte(`
Host *.cloudlab.us
  User carol
  IdentityFile ~/.ssh/cloudlab
  ProxyJump jumper@bastion.example.org:2222
`), 0o644))
	const host = "hp101.utah.cloudlab.us"
	for _, tc := range []struct {
		name     string
		login    Login
		node     Node
		wantUser string
	}{
		{"flag wins", Login{User: "bob", SSHConfig: cfg}, Node{Host: host, User: "alice"}, "bob"},
		{"manifest next", Login{SSHConfig: cfg}, Node{Host: host, User: "alice"}, "alice"},
		{"then ssh_config", Login{SSHConfig: cfg}, Node{Host: host}, "carol"},
		{"then $USER", Login{SSHConfig: cfg}, Node{Host: "elsewhere"}, "local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := newDialer(tc.login, filepath.Join(t.TempDir(), "known_hosts"), noWarn(t))
			require.NoError(t, err)
			require.Equal(t, tc.wantUser, d.user(tc.node))
		})
	}
	d, err := newDialer(Login{SSHConfig: cfg}, filepath.Join(t.TempDir(), "known_hosts"), noWarn(t))
	require.NoError(t, err)
	require.Equal(t, "jumper@bastion.example.org:2222", d.get(host, "ProxyJump"))
	_, err = d.authFor(host) // ~/.ssh/cloudlab, from IdentityFile
	require.NoError(t, err)
	_, err = d.authFor("elsewhere") // no key anywhere
	require.ErrorContains(t, err, "no SSH key")

	_, err = newDialer(Login{SSHConfig: filepath.Join(home, "missing")}, filepath.Join(t.TempDir(), "known_hosts"), noWarn(t))
	require.Error(t, err, "an ssh_config named on the command line must exist")
	d, err = newDialer(Login{Key: filepath.Join(home, "nokey")}, filepath.Join(t.TempDir(), "known_hosts"), noWarn(t))
	require.NoError(t, err)
	_, err = d.authFor(host)
	require.ErrorContains(t, err, "nokey")
}

func noWarn(t *testing.T) func(string) {
	return func(msg string) { t.Errorf("unexpected warning: %s", msg) }
}

// The ssh_config parser rejects Match blocks: a default ~/.ssh/config with
// one is skipped with a warning, one named with --ssh-config is an error.
func TestSSHConfigWithMatch(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := filepath.Join(home, ".ssh", "config")
	require.NoError(t, os.MkdirAll(filepath.Dir(cfg), 0o700))
	require.NoError(t, os.WriteFile(cfg, []byte("Host a\n  User x\nMatch host b\n  User y\n"), 0o644))
	var warned []string
	d, err := newDialer(Login{}, filepath.Join(home, "known_hosts"), func(m string) { warned = append(warned, m) })
	require.NoError(t, err)
	require.Len(t, warned, 1)
	require.Contains(t, warned[0], "ignoring "+cfg)
	require.Equal(t, "", d.get("a", "User"))
	_, err = newDialer(Login{SSHConfig: cfg}, filepath.Join(home, "known_hosts"), noWarn(t))
	require.ErrorContains(t, err, "Match")
}

func TestHostKeysArePinnedOnFirstUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_hosts")
	keyA, keyB := pubKey(t), pubKey(t)
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2201}
	tf, err := newTOFU(path)
	require.NoError(t, err)
	require.NoError(t, tf.check("127.0.0.1:2201", addr, keyA))
	require.NoError(t, tf.check("127.0.0.1:2201", addr, keyA))
	require.ErrorContains(t, tf.check("127.0.0.1:2201", addr, keyB), "host key of 127.0.0.1:2201 changed")

	// A later run reads the pin back.
	tf, err = newTOFU(path)
	require.NoError(t, err)
	require.NoError(t, tf.check("127.0.0.1:2201", addr, keyA))
	require.Error(t, tf.check("127.0.0.1:2201", addr, keyB))
	require.NoError(t, tf.check("127.0.0.1:2202", addr, keyB), "another node is trusted on its first use")
}

func pubKey(t *testing.T) ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return k
}

// TestUpThroughJumpHost reaches every node through a bastion that only
// forwards TCP, as CloudLab users behind a firewall do.
func TestUpThroughJumpHost(t *testing.T) {
	f := newFleet(t, 2)
	var mu sync.Mutex
	var forwarded []string
	jump := &gssh.Server{
		PublicKeyHandler: func(gssh.Context, gssh.PublicKey) bool { return true },
		LocalPortForwardingCallback: func(_ gssh.Context, host string, port uint32) bool {
			mu.Lock()
			defer mu.Unlock()
			forwarded = append(forwarded, net.JoinHostPort(host, strconv.Itoa(int(port))))
			return true
		},
		ChannelHandlers: map[string]gssh.ChannelHandler{"direct-tcpip": gssh.DirectTCPIPHandler},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = jump.Serve(ln) }()
	t.Cleanup(func() { jump.Close() })

	p := f.provider(t, t.TempDir(), 4, io.Discard)
	p.opts.Login.Jump = "hopper@" + ln.Addr().String()
	_, err = p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.NoError(t, err)
	var want []string
	for _, n := range f.nodes {
		want = append(want, net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)))
	}
	sort.Strings(want)
	sort.Strings(forwarded)
	require.Equal(t, want, forwarded, "one forwarded connection per node")
}

func TestStepTimeout(t *testing.T) {
	f := newFleet(t, 1)
	f.delay = 2 * time.Second
	root := t.TempDir()
	p := f.provider(t, root, 2, io.Discard)
	inv, err := p.inventory("kdbench")
	require.NoError(t, err)
	plan := &Plan{Inventory: inv, Steps: []Step{{
		Name: "slow", Phase: PhasePrepare, Roles: allRoles, Check: "true", Apply: "true", Timeout: 100 * time.Millisecond,
	}}}
	d, err := p.workDir("kdbench")
	require.NoError(t, err)
	start := time.Now()
	err = p.run(context.Background(), d, "kdbench", plan)
	require.ErrorContains(t, err, "step slow: timed out after 100ms")
	require.Less(t, time.Since(start), f.delay, "the runner must not wait for a command past its timeout")
}

func TestCancelStopsTheBootstrap(t *testing.T) {
	f := newFleet(t, 1)
	f.delay = 50 * time.Millisecond
	p := f.provider(t, t.TempDir(), 2, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	_, err := p.Up(ctx, clusters.Spec{Name: "kdbench"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, len(f.node("cp").actions()), 10, "commands kept coming after cancellation")
}
