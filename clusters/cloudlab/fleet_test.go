package cloudlab

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gssh "github.com/gliderlabs/ssh"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kdbench/kdbench/clusters"
)

// fleet is a set of in-process SSH servers on 127.0.0.1 standing in for
// CloudLab nodes. They execute nothing: each records the commands it gets
// and answers from what it was told was applied, so checks pass after their
// step's apply, as on a real node.
type fleet struct {
	t       *testing.T
	nodes   []*fakeNode
	keyFile string // the client's private key
	delay   time.Duration

	active, maxActive atomic.Int32
}

type fakeNode struct {
	name string
	port int

	mu      sync.Mutex
	applied map[string]bool
	fail    map[string]int // step → applies still to fail (-1: all)
	cmds    []command
}

// command is one script a node received.
type command struct {
	Step, Action, Script string
	Stdin                []byte
}

var marker = regexp.MustCompile(`^# kdbench step=(\S+) action=(\S+)`)

// newFleet starts one control plane (cp) and workers w1..wN.
func newFleet(t *testing.T, workers int) *fleet {
	t.Helper()
	_, clientKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(clientKey, "")
	require.NoError(t, err)
	f := &fleet{t: t, keyFile: filepath.Join(t.TempDir(), "id_ed25519")}
	require.NoError(t, os.WriteFile(f.keyFile, pem.EncodeToMemory(block), 0o600))
	clientPub, err := ssh.NewPublicKey(clientKey.Public())
	require.NoError(t, err)
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	require.NoError(t, err)

	for i := 0; i <= workers; i++ {
		n := &fakeNode{name: NodeName(i), applied: map[string]bool{}, fail: map[string]int{}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		n.port = ln.Addr().(*net.TCPAddr).Port
		srv := &gssh.Server{
			Handler: func(s gssh.Session) { f.handle(n, s) },
			PublicKeyHandler: func(_ gssh.Context, key gssh.PublicKey) bool {
				return gssh.KeysEqual(key, clientPub)
			},
		}
		srv.AddHostKey(hostSigner)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close() })
		f.nodes = append(f.nodes, n)
	}
	return f
}

// hosts is the fleet as a hosts-file inventory.
func (f *fleet) hosts(t *testing.T) string {
	var b strings.Builder
	for i, n := range f.nodes {
		fmt.Fprintf(&b, "%s tester@127.0.0.1:%d 10.10.1.%d\n", n.name, n.port, i+1)
	}
	path := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

func (f *fleet) node(name string) *fakeNode {
	for _, n := range f.nodes {
		if n.name == name {
			return n
		}
	}
	f.t.Fatalf("no fake node %s", name)
	return nil
}

func (f *fleet) handle(n *fakeNode, s gssh.Session) {
	// Count this command as active until it has answered, not until the
	// server's goroutine ends (the client may start the next one before).
	_ = s.Exit(f.serve(n, s))
}

func (f *fleet) serve(n *fakeNode, s gssh.Session) int {
	cur := f.active.Add(1)
	defer f.active.Add(-1)
	for {
		m := f.maxActive.Load()
		if cur <= m || f.maxActive.CompareAndSwap(m, cur) {
			break
		}
	}
	var c command
	switch raw := s.RawCommand(); {
	case raw == remoteScript:
		b, _ := io.ReadAll(s)
		c.Script = string(b)
	case strings.HasPrefix(raw, remoteUpload):
		args := s.Command()
		c.Script = args[len(args)-1]
		c.Stdin, _ = io.ReadAll(s)
	default:
		fmt.Fprintf(s.Stderr(), "fake node: unexpected command %q\n", raw)
		return 127
	}
	m := marker.FindStringSubmatch(c.Script)
	if m == nil {
		return 127
	}
	c.Step, c.Action = m[1], m[2]
	time.Sleep(f.delay)

	n.mu.Lock()
	n.cmds = append(n.cmds, c)
	code := 0
	switch c.Action {
	case "check":
		if !n.applied[c.Step] {
			code = 1
		}
	case "apply":
		if left := n.fail[c.Step]; left != 0 {
			n.fail[c.Step] = left - 1
			// A failing tool that echoes its arguments, secrets included.
			fmt.Fprintf(s.Stderr(), "E: %s failed on %s\n%s\n", c.Step, n.name, c.Script)
			code = 100
		} else {
			n.applied[c.Step] = true
			fmt.Fprintf(s, "applied %s\n", c.Step)
		}
	case "query":
		switch c.Step {
		case "ca-cert-hash":
			fmt.Fprintln(s, "0123abcd")
		case "kubeconfig":
			fmt.Fprintln(s, "apiVersion: v1\nusers:\n- user:\n    client-key-data: S3CRETKEYDATA")
		}
	}
	n.mu.Unlock()
	return code
}

// actions lists step/action pairs the node received, in order.
func (n *fakeNode) actions() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, len(n.cmds))
	for i, c := range n.cmds {
		out[i] = c.Step + "/" + c.Action
	}
	return out
}

func (n *fakeNode) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cmds = nil
}

func (n *fakeNode) failStep(step string, times int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail[step] = times
}

func (f *fleet) resetRecords() {
	for _, n := range f.nodes {
		n.reset()
	}
}

// provider returns a provider for the fleet whose attach step only reads
// the fetched kubeconfig (there is no API server behind the fakes).
func (f *fleet) provider(t *testing.T, root string, parallel int, progress io.Writer) *Provider {
	t.Setenv("HOME", t.TempDir()) // not the tester's ~/.ssh/config
	p := New(Options{
		Root: root, Inventory: f.hosts(t), Parallel: parallel, KdbenchBinary: fakeBinary,
		Login: Login{Key: f.keyFile}, Progress: progress, RetryDelay: time.Millisecond, ResetOnDown: true,
	})
	p.attach = func(_ context.Context, spec clusters.Spec) (*clusters.Cluster, error) {
		if _, err := os.Stat(spec.Kubeconfig); err != nil {
			return nil, err
		}
		return &clusters.Cluster{Name: spec.Name, Kubeconfig: spec.Kubeconfig, Nodes: len(f.nodes)}, nil
	}
	return p
}
