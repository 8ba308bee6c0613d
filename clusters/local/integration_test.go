package local

import (
	"bytes"
	"context"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/timeline"
	"github.com/kdbench/kdbench/internal/supervisor"
	"github.com/kdbench/kdbench/workloads/burst"
)

// requireUpstream fails (not skips) without the Kubernetes binaries: `make
// test` builds them, and a test that silently skips proves nothing.
func requireUpstream(t testing.TB) {
	t.Helper()
	_, err := checkBinaries(context.Background(), DefaultBinDir())
	require.NoError(t, err)
}

func requireCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	requireUpstream(t)
}

// leftovers lists processes whose command line mentions dir: every process a
// cluster starts has its work directory in its flags.
func leftovers(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(raw, []byte(dir)) {
			continue
		}
		if pid, err := strconv.Atoi(e.Name()); err == nil && !supervisor.Gone(pid) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(raw), "\x00", " "))
		}
	}
	return out
}

func requireNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(leftovers(dir)) == 0 }, 20*time.Second, 50*time.Millisecond,
		"processes left behind: %v", leftovers(dir))
}

// TestLocalClusterScalesDeployment is the [cluster] issue's acceptance test:
// 80 simulated nodes, a Deployment of 100 pods all Ready through informers,
// and nothing left running after Down.
func TestLocalClusterScalesDeployment(t *testing.T) {
	requireCluster(t)
	home := t.TempDir()
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := New(Options{Root: home, Self: bin, Attached: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "it", Nodes: 80})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Down(context.Background(), "it") })
	require.Equal(t, 80, c.Nodes)
	require.Equal(t, "v1.32.13", c.Components["kube-apiserver"])
	require.FileExists(t, c.Kubeconfig)

	_, err = New(Options{Root: home, Self: localtest.Binary(t)}).Up(ctx, clusters.Spec{Name: "it", Nodes: 1})
	require.ErrorContains(t, err, `cluster "it" is already running`)

	st, err := p.Status(ctx, "it")
	require.NoError(t, err)
	require.True(t, st.Running, "%v", st.Problems)
	require.Equal(t, 80, st.NodesReady)

	rc := *c.REST
	rc.QPS, rc.Burst = 1000, 2000
	cs, err := kubernetes.NewForConfig(&rc)
	require.NoError(t, err)
	require.NoError(t, burst.Prepare(ctx, cs, "it", []string{"fn-0"}, nil))
	col := timeline.New(cs, "it", labels.Everything(), clock.RealClock{})
	require.NoError(t, col.Start(ctx))
	defer col.Stop()
	require.NoError(t, col.MarkBurstStart(time.Now(), map[string]int32{"fn-0": 100}))
	_, err = cs.AppsV1().Deployments("it").UpdateScale(ctx, "fn-0", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "fn-0", Namespace: "it"}, Spec: autoscalingv1.ScaleSpec{Replicas: 100}}, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, col.WaitReady(ctx, 100, nil))
	recs := col.Records(results.RepID{System: "k8s", Size: 100}, "scale-pods")
	require.Len(t, recs, 100)
	nodes := map[string]bool{}
	for _, r := range recs {
		require.NotZero(t, r.Ready, r.Pod)
		require.NotEmpty(t, r.Node, r.Pod)
		nodes[r.Node] = true
	}
	t.Logf("100 pods Ready on %d nodes", len(nodes))

	require.NoError(t, p.Down(ctx, "it"))
	requireNoLeftovers(t, home)
	st, err = p.Status(ctx, "it")
	require.NoError(t, err)
	require.False(t, st.Running)
	require.NoError(t, p.Down(ctx, "it"), "down is idempotent")
}

// TestCLIUpDownAndInterrupt drives the real command: a detached `cluster up`
// whose processes outlive it until `cluster down` from another process, and
// an `up` interrupted by SIGINT that must leave nothing behind.
func TestCLIUpDownAndInterrupt(t *testing.T) {
	requireCluster(t)
	bin := localtest.Binary(t)
	home := t.TempDir()
	run := func(args ...string) (string, error) {
		out, err := supervisor.Output(context.Background(), supervisor.Command{Path: bin, Args: append(args, "--home", home)})
		return string(out), err
	}

	out, err := run("cluster", "up", "--name", "cli", "--nodes", "5")
	require.NoError(t, err, out)
	require.Contains(t, out, `cluster "cli" (local) is up with 5 Ready nodes`)
	require.NotEmpty(t, leftovers(home), "a detached cluster outlives `cluster up`")
	out, err = run("cluster", "status", "--name", "cli")
	require.NoError(t, err, out)
	require.Contains(t, out, "running, 5 nodes Ready")
	out, err = run("cluster", "down", "--name", "cli")
	require.NoError(t, err, out)
	requireNoLeftovers(t, home)
	out, err = run("cluster", "status", "--name", "cli")
	require.Error(t, err, "status exits non-zero for a stopped cluster")
	require.Contains(t, out, "not running")

	// Interrupt start-up once the API server has been launched.
	up, err := supervisor.Start(supervisor.Spec{Name: "kdbench cluster up", Path: bin, Args: []string{"cluster", "up", "--name", "sig", "--nodes", "5", "--home", home},
		Log: filepath.Join(t.TempDir(), "up.log"), Attached: true})
	require.NoError(t, err)
	statePath := filepath.Join(home, "clusters", "sig", "state.json")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(statePath)
		return err == nil && bytes.Contains(b, []byte(`"kube-apiserver"`))
	}, 60*time.Second, 5*time.Millisecond, "api server never launched:\n%s", up.LogTail(20))
	require.NoError(t, up.Signal(context.Background(), syscall.SIGINT))
	<-up.Done()
	require.Error(t, up.Err(), "an interrupted up fails:\n%s", up.LogTail(20))
	require.Contains(t, up.LogTail(100), "stopping what was started")
	requireNoLeftovers(t, home)
}

// TestRestartAPIServer: a crashed and restarted API server serves again
// under a new pid that state.json records, so Down still stops it.
func TestRestartAPIServer(t *testing.T) {
	requireCluster(t)
	home := t.TempDir()
	bin := localtest.Binary(t) // before the clock starts: a cold build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := New(Options{Root: home, Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "restart", Nodes: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Down(context.Background(), "restart") })
	cs, err := kubernetes.NewForConfig(c.REST)
	require.NoError(t, err)

	old := p.PID("restart", apiserverComponent)
	require.NotZero(t, old)
	start := time.Now()
	require.NoError(t, p.Restart(ctx, "restart", apiserverComponent))
	t.Logf("kube-apiserver crashed and healthy again in %s", time.Since(start).Round(time.Millisecond))
	pid := p.PID("restart", apiserverComponent)
	require.NotEqual(t, old, pid)
	require.True(t, supervisor.Gone(old), "the crashed API server (pid %d) still runs", old)

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err, "the restarted API server serves")
	require.Len(t, nodes.Items, 1)
	l, err := p.layout("restart")
	require.NoError(t, err)
	st, err := l.readState()
	require.NoError(t, err)
	var recorded int
	for _, pr := range st.Procs {
		if pr.Name == apiserverComponent {
			recorded = pr.PID
		}
	}
	require.Equal(t, pid, recorded, "state.json names the new API server")

	require.NoError(t, p.Down(ctx, "restart"))
	requireNoLeftovers(t, home)
}
