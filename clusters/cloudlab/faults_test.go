package cloudlab

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// Faults of real clusters at the placement seam (issue 15 item 6): each
// error names the component and its host, and quotes its log where the host
// can still be reached; nothing is left running.

func TestPlacerBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	comp := clusters.Component{Name: "kd-scheduler", Path: "sleep", Args: []string{"300"}}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, inv *Inventory, d *dialer)
		want  []string
	}{{
		name: "unreachable host",
		setup: func(t *testing.T, inv *Inventory, d *dialer) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			inv.Nodes[1].Port = ln.Addr().(*net.TCPAddr).Port
			ln.Close() // nothing listens there now
		},
		want: []string{"kd-scheduler on w1: ssh to 127.0.0.1:", "host unreachable", "connection refused"},
	}, {
		name: "refused key",
		setup: func(t *testing.T, inv *Inventory, d *dialer) {
			other := filepath.Join(t.TempDir(), "other_key")
			writeKey(t, other)
			d.login.Key = other
			d.auth = map[string][]ssh.AuthMethod{}
		},
		want: []string{"kd-scheduler on w1: ssh to tester@127.0.0.1:", "the host refused the key ", "other_key for user tester"},
	}, {
		name: "changed host key",
		setup: func(t *testing.T, inv *Inventory, d *dialer) {
			addr := knownhosts.Normalize(inv.Nodes[1].Addr())
			d.hosts.known[addr] = pubKey(t).Marshal() // pinned by an earlier experiment
		},
		want: []string{"kd-scheduler on w1: ssh to tester@127.0.0.1:", "host key of 127.0.0.1:", "changed (known in ", "delete its line there"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			inv, d := hostsThatRun(t, runSession, "cp", "w1")
			tc.setup(t, &inv, d)
			p := NewPlacer(inv, d.dial, t.TempDir())
			defer p.Close()
			_, err := p.Start(ctx, p.Hosts()[1], comp)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestComponentDiesOnItsHost: the error names the component, its host and
// its log, with the log's tail fetched from the host.
func TestComponentDiesOnItsHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, d := hostsThatRun(t, runSession, "cp", "w1")
	root := t.TempDir()
	p := NewPlacer(inv, d.dial, root)
	defer p.Close()
	rp, err := p.Start(ctx, p.Hosts()[1], clusters.Component{Name: "kd-nodeagent", Path: "sh",
		Args: []string{"-c", "sleep 0.2; echo 'listen 10.10.1.2:17400: address already in use' >&2; exit 3"}})
	require.NoError(t, err)
	require.NoError(t, rp.(*remoteProcess).Err(), "running")
	select {
	case <-rp.Done():
	case <-ctx.Done():
		t.Fatal("the component's end was never reported")
	}
	err = rp.(*remoteProcess).Err()
	require.ErrorContains(t, err, "kd-nodeagent on w1 exited (exit status 3)")
	require.ErrorContains(t, err, "log w1:"+filepath.Join(root, "logs", "kd-nodeagent.log"))
	require.ErrorContains(t, err, "address already in use")
}

// TestHostLostMidRun: a worker host that stops answering (died, cut off,
// without closing a thing) is noticed by the keepalive; the error says the
// host was lost and, the host being unreachable, where the log stays; the
// supervisor on that host stops the component once the harness has been
// silent; the other host's component runs on, and Close stops it.
func TestHostLostMidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, d := hostsThatRun(t, runSession, "cp", "w1", "w2")
	d.keepalive, d.keepaliveTimeout = 100*time.Millisecond, 500*time.Millisecond
	w1 := newCuttable(t, inv.Nodes[1].Addr())
	inv.Nodes[1].Port = w1.port
	root := t.TempDir()
	p := NewPlacer(inv, d.dial, root)
	p.Silence = time.Second
	defer p.Close()
	comp := clusters.Component{Name: "kd-nodeagent", Path: "sh", Args: []string{"-c", "echo serving; exec sleep 300"}}
	hosts := clusters.HostsWith(p, clusters.RoleWorker)
	lost, err := p.Start(ctx, hosts[0], comp)
	require.NoError(t, err)
	other, err := p.Start(ctx, hosts[1], comp)
	require.NoError(t, err)
	time.Sleep(2 * p.Silence) // the heartbeat keeps both running past Silence
	require.True(t, lost.Alive() && other.Alive())
	require.False(t, supervisor.Gone(lost.PID()))

	w1.cut()
	select {
	case <-lost.Done():
	case <-ctx.Done():
		t.Fatal("the lost host was never noticed")
	}
	err = lost.(*remoteProcess).Err()
	require.ErrorContains(t, err, "kd-nodeagent on w1 lost: the connection to its host ended: the host did not answer for 500ms")
	require.ErrorContains(t, err, "host w1 unreachable, so no log tail")
	require.ErrorContains(t, err, "the log stays on w1 at "+filepath.Join(root, "logs", "kd-nodeagent.log"))
	require.Eventually(t, func() bool { return supervisor.Gone(lost.PID()) }, 10*time.Second, 20*time.Millisecond,
		"the component on the cut-off host outlived the harness's silence")
	require.True(t, other.Alive(), "w2's component must not suffer from w1's loss")
	require.NoError(t, p.Close())
	require.Eventually(t, func() bool { return supervisor.Gone(other.PID()) }, 10*time.Second, 20*time.Millisecond)
}

// cuttable forwards TCP to a host until cut: then it neither forwards nor
// closes anything, nor accepts, as a host that lost power or its link.
type cuttable struct {
	port int
	ln   net.Listener
	dead atomic.Bool
	mu   sync.Mutex
}

func newCuttable(t *testing.T, backend string) *cuttable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &cuttable{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, x := range conns {
			x.Close()
		}
	})
	go func() {
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				a.Close()
				continue
			}
			c.mu.Lock()
			conns = append(conns, a, b)
			c.mu.Unlock()
			go c.pipe(a, b)
			go c.pipe(b, a)
		}
	}()
	return c
}

func (c *cuttable) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if c.dead.Load() {
			if err != nil {
				return // and dst never learns
			}
			continue // swallowed
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

// cut makes the host unreachable: nothing more passes, new connections are
// refused.
func (c *cuttable) cut() {
	c.dead.Store(true)
	c.ln.Close()
}

// TestProbeSteps: after a run, Down checks each component where it runs,
// with the same check as the bootstrap's; a failed one prints its log.
func TestProbeSteps(t *testing.T) {
	inv := paperInventory(t)
	inv.Nodes = inv.Nodes[:3]
	bash, err := supervisor.LookPath("bash")
	require.NoError(t, err)
	for _, tc := range []struct {
		mode string
		want map[string][]string // step → nodes
	}{
		{ControlPlaneKubeadm, map[string][]string{"probe-kubelet": {"cp", "w1", "w2"}, "probe-apiserver": {"cp"}}},
		{ControlPlaneProcesses, map[string][]string{"probe-etcd": {"cp"}, "probe-kube-apiserver": {"cp"},
			"probe-kube-controller-manager": {"cp"}, "probe-kube-scheduler": {"cp"}, "probe-nodeagent": {"w1", "w2"}}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := &State{Name: "kdbench", QPSProfile: "default", ControlPlane: tc.mode, Inventory: inv}
			steps, err := probeSteps(s)
			require.NoError(t, err)
			p := &Plan{Inventory: inv, ControlPlane: tc.mode, Steps: steps}
			r := &runner{plan: p, exports: map[string]string{}}
			got := map[string][]string{}
			for _, n := range inv.Nodes {
				for _, st := range p.StepsFor(n) {
					got[st.Name] = append(got[st.Name], n.Name)
					require.Contains(t, st.Apply, " on $NODE_NAME is not running")
					require.Contains(t, st.Apply, "exit 1")
					for _, cmd := range []string{st.Check, st.Apply} {
						_, err := supervisor.Output(t.Context(), supervisor.Command{Path: bash, Args: []string{"-n"}, Stdin: strings.NewReader(r.script(n, st, "check", cmd))})
						require.NoError(t, err, "%s on %s does not parse", st.Name, n.Name)
					}
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}
