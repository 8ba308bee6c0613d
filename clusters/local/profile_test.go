package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testPlan(t *testing.T, profile string) *plan {
	t.Helper()
	prof, err := lookupProfile(profile)
	require.NoError(t, err)
	return &plan{name: "t", l: layout{root: "/w"}, prof: prof, binDir: "/bin", self: "/kd",
		nodes: 7, delay: 200 * time.Millisecond,
		p: ports{EtcdClient: 1, EtcdPeer: 2, APIServer: 3, KCM: 4, Scheduler: 5, NodeAgentMetrics: 6}}
}

func TestProfileFlags(t *testing.T) {
	for _, tc := range []struct {
		profile   string
		component func(*plan) component
		want      []string
		notWant   []string
	}{
		{"default", (*plan).apiserver, []string{"--etcd-servers=http://127.0.0.1:1", "--secure-port=3", "--authorization-mode=Node,RBAC"}, []string{"--max-requests-inflight"}},
		{"tuned", (*plan).apiserver, []string{"--max-requests-inflight=200000", "--max-mutating-requests-inflight=200000", "--feature-gates=AuthorizeNodeWithSelectors=false"}, nil},
		{"default", (*plan).controllerManager, []string{"--leader-elect=false", "--use-service-account-credentials=true"}, []string{"--kube-api-qps", "--concurrent-deployment-syncs"}},
		{"tuned", (*plan).controllerManager, []string{"--concurrent-deployment-syncs=100", "--concurrent-replicaset-syncs=100", "--kube-api-qps=10000", "--endpoint-updates-batch-period=50ms"}, nil},
		{"default", (*plan).nodeAgent, []string{"internal", "nodeagent", "--nodes=7", "--sandbox-delay=200ms", "--pod-cidr=10.128.0.0/9"}, nil},
		{"default", (*plan).etcd, []string{"--quota-backend-bytes=2147483648"}, []string{"--auto-compaction-retention"}},
		{"tuned", (*plan).etcd, []string{"--quota-backend-bytes=4294967296", "--auto-compaction-retention=15m"}, nil},
		// artifact: kubedirect-ae manifests/kubeadm/init.large.yaml, client QPS at the defaults.
		{"artifact", (*plan).apiserver, []string{"--max-requests-inflight=200000", "--max-mutating-requests-inflight=200000", "--feature-gates=AuthorizeNodeWithSelectors=false"}, nil},
		{"artifact", (*plan).controllerManager, []string{"--concurrent-deployment-syncs=100", "--concurrent-replicaset-syncs=100", "--concurrent-endpoint-syncs=50", "--concurrent-service-endpoint-syncs=50", "--endpointslice-updates-batch-period=50ms"}, []string{"--kube-api-qps", "--kube-api-burst"}},
		{"artifact", (*plan).etcd, []string{"--quota-backend-bytes=8589934592", "--auto-compaction-retention=5m"}, nil},
	} {
		c := tc.component(testPlan(t, tc.profile))
		t.Run(tc.profile+"/"+c.Name, func(t *testing.T) {
			args := strings.Join(c.Args, " ")
			for _, w := range tc.want {
				require.Contains(t, c.Args, w, "args: %s", args)
			}
			for _, nw := range tc.notWant {
				require.NotContains(t, args, nw)
			}
		})
	}
}

func TestSchedulerConfigPerProfile(t *testing.T) {
	def := string(testPlan(t, "default").schedulerConfig())
	require.Contains(t, def, "qps: 50\n")
	require.Contains(t, def, "parallelism: 16\n")
	require.NotContains(t, def, "percentageOfNodesToScore")
	tuned := string(testPlan(t, "tuned").schedulerConfig())
	require.Contains(t, tuned, "qps: 10000\n")
	require.Contains(t, tuned, "parallelism: 50\n")
	require.Contains(t, tuned, `kubeconfig: "/w/kubeconfigs/kube-scheduler.kubeconfig"`)
}

func TestSchedulerSettings(t *testing.T) {
	for _, tc := range []struct {
		profile string
		want    []string
	}{
		{"default", []string{"clientConnection.qps=50", "clientConnection.burst=100", "parallelism=16"}},
		{"artifact", []string{"clientConnection.qps=50", "clientConnection.burst=100", "parallelism=50", "percentageOfNodesToScore=5"}},
		{"tuned", []string{"clientConnection.qps=10000", "clientConnection.burst=20000", "parallelism=50"}},
	} {
		p, err := lookupProfile(tc.profile)
		require.NoError(t, err)
		require.Equal(t, tc.want, p.SchedulerSettings(), tc.profile)
	}
	art := string(testPlan(t, "artifact").schedulerConfig())
	require.Contains(t, art, "qps: 50\n")
	require.Contains(t, art, "percentageOfNodesToScore: 5\n")
}

func TestLookupProfile(t *testing.T) {
	p, err := lookupProfile("")
	require.NoError(t, err)
	require.Equal(t, "default", p.Name)
	_, err = lookupProfile("turbo")
	require.ErrorContains(t, err, `unknown QPS profile "turbo"`)
	require.ErrorContains(t, err, "tuned")
}

func TestLayout(t *testing.T) {
	l := layout{root: "/home/u/.kdbench/clusters/a"}
	for got, want := range map[string]string{
		l.PKI():                            "/home/u/.kdbench/clusters/a/pki",
		l.Log("kube-apiserver"):            "/home/u/.kdbench/clusters/a/logs/kube-apiserver.log",
		l.Kubeconfig():                     "/home/u/.kdbench/clusters/a/kubeconfig",
		l.ComponentKubeconfig("nodeagent"): "/home/u/.kdbench/clusters/a/kubeconfigs/nodeagent.kubeconfig",
		l.State():                          "/home/u/.kdbench/clusters/a/state.json",
		l.EtcdData():                       "/home/u/.kdbench/clusters/a/etcd",
	} {
		require.Equal(t, want, got)
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{"kdbench": true, "run-1": true, "": false, "A": false, "../x": false, "a b": false} {
		err := validName(name)
		require.Equal(t, ok, err == nil, "%q: %v", name, err)
	}
}

// TestWipeKeepsPreviousLogs: a fresh start empties the work dir but keeps
// the logs of the cluster that ran before as logs.prev (one generation), so
// a retried start does not erase the logs its failed attempt's error names.
func TestWipeKeepsPreviousLogs(t *testing.T) {
	l := layout{root: t.TempDir()}
	write := func(rel, body string) {
		p := filepath.Join(l.Root(), rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	write("logs/kube-apiserver.log", "attempt 2")
	write("logs.prev/kube-apiserver.log", "attempt 1")
	write("etcd/member/wal", "data")
	write("state.json", "{}")
	write("lock", "")

	require.NoError(t, wipe(l))
	got, err := os.ReadFile(filepath.Join(l.PrevLogs(), "kube-apiserver.log"))
	require.NoError(t, err)
	require.Equal(t, "attempt 2", string(got), "the latest logs become logs.prev")
	for _, gone := range []string{l.Logs(), l.EtcdData(), l.State()} {
		_, err := os.Stat(gone)
		require.True(t, os.IsNotExist(err), "%s survived the wipe", gone)
	}
	_, err = os.Stat(l.Lock())
	require.NoError(t, err, "the lock stays")

	require.NoError(t, wipe(l), "a wipe without logs keeps logs.prev")
	_, err = os.Stat(filepath.Join(l.PrevLogs(), "kube-apiserver.log"))
	require.NoError(t, err)
}
