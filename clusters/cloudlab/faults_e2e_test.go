//go:build e2e

package cloudlab

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/clusters/testbed"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// TestTestbedHostFaults places components on the workers of a multi-host
// testbed (network namespaces, real OpenSSH, the real `kdbench internal
// supervise`) from its control-plane host, then loses them three ways:
// w1's link goes down (nothing closes: the keepalive notices, the
// supervisor on w1 stops its component after the harness's silence), w2
// dies (its sshd and every process killed), and the harness closes w3's
// lifeline. Each loss names the component and the host, with the log's
// tail or where it stays; nothing is left running anywhere.
//
//	go test -tags e2e -run TestTestbedHostFaults ./clusters/cloudlab/   # as root
func TestTestbedHostFaults(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and sshd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := localtest.Binary(t) // shared file system: every host runs this one
	tb := upFaultsTestbed(ctx, t, 3)
	data, err := os.ReadFile(tb.Inventory())
	require.NoError(t, err)
	inv, err := ParseHosts(data)
	require.NoError(t, err)
	d, err := newDialer(Login{Key: tb.Key(), SSHConfig: os.DevNull}, filepath.Join(t.TempDir(), "known_hosts"), func(string) {})
	require.NoError(t, err)
	d.keepalive, d.keepaliveTimeout = 200*time.Millisecond, time.Second
	root := t.TempDir() // the hosts share the file system but /opt and /usr/local/bin
	p := NewPlacer(inv, dialFrom(tb.Namespace("cp"), d.dial), root)
	p.Kdbench = bin
	p.Silence = 2 * time.Second
	var started []clusters.Process
	t.Cleanup(func() {
		p.Close()
		for _, rp := range started {
			require.Eventually(t, func() bool { return supervisor.Gone(rp.PID()) }, 20*time.Second, 50*time.Millisecond,
				"%s on %s (pid %d) outlived the test", rp.Name(), rp.Host().Name, rp.PID())
		}
	})
	procs := map[string]clusters.Process{}
	for _, h := range clusters.HostsWith(p, clusters.RoleWorker) {
		rp, err := p.Start(ctx, h, clusters.Component{Name: "kd-nodeagent", Path: "sh",
			Args: []string{"-c", "echo serving on " + h.Name + "; exec sleep 300"}})
		require.NoError(t, err, "starting on %s", h.Name)
		started = append(started, rp)
		procs[h.Name] = rp
	}
	logPath := filepath.Join(root, "logs", "kd-nodeagent.log")
	time.Sleep(2 * p.Silence) // the harness's pings keep every component past Silence
	for name, rp := range procs {
		require.True(t, rp.Alive(), "%s", name)
		require.Contains(t, rp.LogTail(5), "serving on "+name)
	}

	t.Run("link down", func(t *testing.T) {
		rp := procs["w1"]
		link(t, tb, "w1", "down")
		defer link(t, tb, "w1", "up")
		waitDone(t, ctx, rp)
		err := rp.(*remoteProcess).Err()
		require.ErrorContains(t, err, "kd-nodeagent on w1 lost: the connection to its host ended: the host did not answer for 1s")
		require.ErrorContains(t, err, "host w1 unreachable, so no log tail")
		require.ErrorContains(t, err, "the log stays on w1 at "+logPath)
		require.Eventually(t, func() bool { return supervisor.Gone(rp.PID()) }, 20*time.Second, 50*time.Millisecond,
			"the component on the cut-off host outlived the harness's silence")
		link(t, tb, "w1", "up")
		// Back on the LAN, the host gives its log again.
		require.Eventually(t, func() bool { return strings.Contains(rp.LogTail(10), "serving on w1") }, 20*time.Second, 200*time.Millisecond)
	})

	t.Run("host killed", func(t *testing.T) {
		rp := procs["w2"]
		killNamespace(t, tb.Namespace("w2"))
		waitDone(t, ctx, rp)
		require.True(t, supervisor.Gone(rp.PID()))
		err := rp.(*remoteProcess).Err()
		require.ErrorContains(t, err, "kd-nodeagent on w2 lost: the connection to its host ended")
		require.ErrorContains(t, err, "host w2 unreachable, so no log tail")
		require.ErrorContains(t, err, "the log stays on w2 at "+logPath)
		_, err = p.Start(ctx, rp.Host(), clusters.Component{Name: "kd-nodeagent", Path: "true"})
		require.ErrorContains(t, err, "kd-nodeagent on w2: ssh to 10.78.1.12:22: host unreachable")
		require.True(t, procs["w3"].Alive(), "w3 must not suffer from the other hosts' loss")
	})

	t.Run("harness lets go", func(t *testing.T) {
		rp := procs["w3"]
		require.NoError(t, p.Close()) // what the harness's death does to its connections
		waitDone(t, ctx, rp)
		require.Eventually(t, func() bool { return supervisor.Gone(rp.PID()) }, 20*time.Second, 50*time.Millisecond,
			"the component outlived its harness's connection")
	})
}

// dialFrom dials from network namespace ns (the control-plane host, where
// the harness runs): the socket is made on a thread moved into ns, which
// then dies with its goroutine, never returning to the pool.
func dialFrom(ns string, dial func(context.Context, Node) (conn, error)) func(context.Context, Node) (conn, error) {
	return func(ctx context.Context, n Node) (conn, error) {
		type result struct {
			c   conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
			f, err := os.Open("/var/run/netns/" + ns)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, err}
				return
			}
			c, err := dial(ctx, n)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// link sets host's port on the testbed's bridge up or down.
func link(t *testing.T, tb *testbed.Testbed, host, state string) {
	t.Helper()
	_, err := supervisor.Output(context.Background(), supervisor.Command{Path: "ip",
		Args: []string{"-n", tb.Name + "-lan", "link", "set", "v-" + host, state}})
	require.NoError(t, err)
}

// killNamespace SIGKILLs every process of ns, as a host losing power.
func killNamespace(t *testing.T, ns string) {
	t.Helper()
	out, err := supervisor.Output(context.Background(), supervisor.Command{Path: "ip", Args: []string{"netns", "pids", ns}})
	require.NoError(t, err)
	pids := strings.Fields(string(out))
	require.NotEmpty(t, pids, "namespace %s runs nothing", ns)
	for _, f := range pids {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		if pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func waitDone(t *testing.T, ctx context.Context, rp clusters.Process) {
	t.Helper()
	select {
	case <-rp.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("the loss of %s on %s was never noticed", rp.Name(), rp.Host().Name)
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}

// TestTestbedRunLosesAWorker: a scale-pods run on the testbed's cluster
// (`cluster up --provider cloudlab --control-plane processes`, run from the
// control-plane host) whose worker host w2 dies once the run has started.
// The run ends failed, and keeps what it measured: pods.csv holds the
// burst's pods (those of w1 Ready), the manifest the failure. `cluster
// down` names the dead host; the testbed leaves nothing behind.
//
//	KDBENCH_BIN=$PWD/bin/kdbench KDBENCH_K8S_BIN_DIR=... go test -tags e2e -run TestTestbedRunLosesAWorker ./clusters/cloudlab/
func TestTestbedRunLosesAWorker(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and sshd")
	}
	bin := os.Getenv("KDBENCH_BIN")
	if bin == "" || os.Getenv("KDBENCH_K8S_BIN_DIR") == "" {
		t.Skip("needs KDBENCH_BIN and KDBENCH_K8S_BIN_DIR (the kdbench and Kubernetes binaries the hosts run)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tb := upFaultsTestbed(ctx, t, 2)
	home := filepath.Join(tb.Dir, "home")
	// Its own context: cluster down runs at cleanup, after ctx is cancelled.
	cmdCtx, cmdCancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cmdCancel)
	command := func(args ...string) *exec.Cmd {
		cmd := tb.Command(cmdCtx, "cp", append([]string{bin}, args...)...)
		cmd.Env = append(os.Environ(), "KDBENCH_HOME="+home, "HOME="+home)
		return cmd
	}
	kd := func(args ...string) (string, error) {
		out, err := command(args...).CombinedOutput()
		t.Logf("cp$ kdbench %s (%v)\n%s", strings.Join(args, " "), err, out)
		return string(out), err
	}
	cl := []string{"--provider", "cloudlab", "--name", "testbed", "--inventory", tb.Inventory(), "--key", tb.Key()}
	_, err := kd(append([]string{"cluster", "up", "--control-plane", "processes", "--nodes", "4"}, cl...)...)
	require.NoError(t, err)
	downed := false
	t.Cleanup(func() {
		if !downed {
			kd(append([]string{"cluster", "down"}, cl...)...)
		}
	})

	results := filepath.Join(tb.Dir, "results")
	run := command("run", "scale-pods", "--provider", "existing", "--kubeconfig", filepath.Join(home, "clusters", "testbed", "kubeconfig"),
		"--system", "k8s", "--qps-profile", "default", "--sizes", "40", "--reps", "1", "--warmup", "0", "--rep-timeout", "45s", "--floor=false", "--no-plots",
		"--results", results)
	var out syncBuffer
	run.Stdout, run.Stderr = &out, &out
	require.NoError(t, run.Start())
	ended := make(chan error, 1)
	go func() { ended <- run.Wait() }()
	if !waitFor(2*time.Minute, func() bool { return strings.Contains(out.String(), "results: ") }) {
		t.Fatalf("the run never started:\n%s", out.String())
	}
	killNamespace(t, tb.Namespace("w2")) // its node agent and sshd: the host is gone
	var runErr error
	select {
	case runErr = <-ended:
	case <-ctx.Done():
		t.Fatalf("the run never ended:\n%s", out.String())
	}
	t.Logf("cp$ kdbench run ... (%v)\n%s", runErr, out.String())
	require.Error(t, runErr, "a run that lost a worker host must fail")

	dirs, err := filepath.Glob(filepath.Join(results, "*", "manifest.json"))
	require.NoError(t, err)
	require.Len(t, dirs, 1, "one results directory")
	var m struct {
		Status, Error string
	}
	data, err := os.ReadFile(dirs[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &m))
	require.Equal(t, "failed", m.Status)
	require.NotEmpty(t, m.Error)
	pods, err := os.ReadFile(filepath.Join(filepath.Dir(dirs[0]), "pods.csv"))
	require.NoError(t, err, "the run kept no pods.csv")
	rows := strings.Split(strings.TrimSpace(string(pods)), "\n")
	require.Greater(t, len(rows), 1, "pods.csv holds no pod: the run did not keep what it measured")
	t.Logf("kept %d pod rows; manifest error: %s", len(rows)-1, m.Error)
	var onW1, readyOnW2 int
	for _, r := range rows[1:] {
		f := strings.Split(r, ",")
		node, ready := f[9], f[16]
		if strings.HasPrefix(node, "w1-") && ready != "" {
			onW1++
		}
		if strings.HasPrefix(node, "w2-") && ready != "" {
			readyOnW2++
		}
	}
	require.Positive(t, onW1, "w1's pods were measured Ready")
	require.Zero(t, readyOnW2, "no pod of the dead host is Ready")

	// What a `run --provider cloudlab` does after each group: Down keeps
	// the cluster and says what it lost.
	p := New(Options{Root: home, Inventory: tb.Inventory(), Login: Login{Key: tb.Key(), SSHConfig: os.DevNull}, RetryDelay: time.Second})
	p.dial = func(l Login, known string, warn func(string)) (func(context.Context, Node) (conn, error), func() error, error) {
		dial, closeDialer, err := sshDial(l, known, warn)
		return dialFrom(tb.Namespace("cp"), dial), closeDialer, err
	}
	err = p.Down(ctx, "testbed")
	require.ErrorContains(t, err, `cloudlab cluster "testbed" is kept, but not all of it still runs: 1 of 3 nodes failed`)
	require.ErrorContains(t, err, "node w2: ssh to 10.78.1.12:22: host unreachable")
	require.NotContains(t, err.Error(), "node w1", "w1 and its agent still run")

	out2, err := kd(append([]string{"cluster", "down"}, cl...)...)
	downed = true
	require.Error(t, err, "down cannot reset a dead host")
	require.Contains(t, out2, "node w2: ssh to 10.78.1.12:22: host unreachable")
}

func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// upFaultsTestbed brings up the faults tests' testbed, under its own name
// and subnet (never the default testbed's: kdtb, 10.77.1.0/24), and checks
// at cleanup that its tear-down left nothing behind.
func upFaultsTestbed(ctx context.Context, t *testing.T, workers int) *testbed.Testbed {
	t.Helper()
	tb, err := testbed.Up(ctx, testbed.Options{Name: "kdft", Subnet: "10.78.1.0/24", Workers: workers})
	require.NoError(t, err)
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		require.NoError(t, tb.Down(dctx))
		left, err := testbed.Leftovers(dctx, tb.Name, tb.Dir)
		require.NoError(t, err)
		require.Empty(t, left, "the testbed left these behind")
	})
	return tb
}
