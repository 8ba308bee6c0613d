package cloudlab

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeBinary stands in for the linux/amd64 kdbench copied to the nodes.
var fakeBinary = filepath.Join("testdata", "kdbench-binary")

// paperInventory is the paper's testbed: cp and w1..w79 on one /24.
func paperInventory(t *testing.T) Inventory {
	t.Helper()
	var hosts strings.Builder
	for i := range 80 {
		fmt.Fprintf(&hosts, "%s alice@hp%03d.utah.cloudlab.us 10.10.1.%d\n", NodeName(i), 101+i, i+1)
	}
	inv, err := ParseHosts([]byte(hosts.String()))
	require.NoError(t, err)
	return inv
}

func TestPlanGolden80Nodes(t *testing.T) {
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "tuned", KdbenchBinary: fakeBinary})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, WritePlan(&b, p))
	golden(t, "plan-80-tuned.txt", b.Bytes())
}

func TestPlanPerRole(t *testing.T) {
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "tuned", KdbenchBinary: fakeBinary})
	require.NoError(t, err)
	worker := []string{"os-prep", "containerd", "kube-packages", "kubelet-node-ip",
		"kubeadm-join", "workload-image", "kdbench-fetch"}
	for _, tc := range []struct {
		node string
		want []string
	}{
		{"cp", []string{"os-prep", "containerd", "kube-packages", "kubelet-node-ip", "kdbench-binary",
			"kdbench-serve", "kubeadm-config", "kubeadm-init", "control-plane-flags", "cni-flannel", "join-token", "ca-cert-hash", "kubeconfig",
			"nodes-ready"}},
		{"w1", worker},
		{"w79", worker},
	} {
		t.Run(tc.node, func(t *testing.T) {
			var n Node
			for _, x := range p.Inventory.Nodes {
				if x.Name == tc.node {
					n = x
				}
			}
			var got []string
			last := PhasePrepare
			for _, s := range p.StepsFor(n) {
				got = append(got, s.Name)
				require.GreaterOrEqual(t, s.Phase, last, "step %s runs in an earlier phase than the one before it", s.Name)
				last = s.Phase
				require.Positive(t, s.Timeout, s.Name)
				require.NotEmpty(t, s.Apply, s.Name)
				require.True(t, s.Query() == (s.Export != "" || s.Fetch != ""), "%s: a step without check must export or fetch", s.Name)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPlanUsesQPSProfile(t *testing.T) {
	for _, tc := range []struct {
		profile      string
		want, absent []string
	}{
		// tuned on real machines is the artifact's large-cluster configuration
		// (manifests/kubeadm/init.large.yaml, kube-scheduler-config.large.yaml).
		{"tuned", []string{"{name: max-requests-inflight, value: \"200000\"}", "{name: concurrent-deployment-syncs, value: \"100\"}",
			"{name: auto-compaction-retention, value: \"5m\"}", "{name: quota-backend-bytes, value: \"8589934592\"}",
			"parallelism: 50", "percentageOfNodesToScore: 5", "qps: 10000", "kubeAPIQPS: 200", "serializeImagePulls: false",
			"imagePullSerial: false", "kubernetesVersion: v1.32.0", "podSubnet: 10.64.0.0/11"}, nil},
		// artifact is exactly the artifact's large-cluster configuration.
		{"artifact", []string{"{name: max-requests-inflight, value: \"200000\"}", "{name: concurrent-service-endpoint-syncs, value: \"50\"}",
			"{name: auto-compaction-retention, value: \"5m\"}", "{name: quota-backend-bytes, value: \"8589934592\"}",
			"parallelism: 50", "percentageOfNodesToScore: 5", "kubeAPIQPS: 200", "serializeImagePulls: false",
			"imagePullSerial: false", "minSyncPeriod: 50ms", "syncPeriod: 5m"}, []string{"kube-api-qps"}},
		{"default", []string{"extraArgs: []", "{name: quota-backend-bytes, value: \"2147483648\"}", "parallelism: 16", "kubeAPIQPS: 200",
			"serializeImagePulls: false"},
			[]string{"max-requests-inflight", "auto-compaction", "percentageOfNodesToScore"}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: tc.profile, KdbenchBinary: fakeBinary})
			require.NoError(t, err)
			var cfg string
			for _, s := range p.Steps {
				if s.Name == "kubeadm-config" {
					cfg = s.Apply
				}
			}
			for _, w := range tc.want {
				require.Contains(t, cfg, w)
			}
			for _, a := range tc.absent {
				require.NotContains(t, cfg, a)
			}
		})
	}
}

func TestNewPlanErrors(t *testing.T) {
	inv := paperInventory(t)
	_, err := NewPlan(inv, PlanOptions{QPSProfile: "fast", KdbenchBinary: fakeBinary})
	require.ErrorContains(t, err, `unknown QPS profile "fast"`)
	_, err = NewPlan(inv, PlanOptions{})
	require.ErrorContains(t, err, "--kdbench-binary")
	_, err = NewPlan(inv, PlanOptions{KdbenchBinary: filepath.Join(t.TempDir(), "nope")})
	require.ErrorContains(t, err, "kdbench binary")
}

// A cluster brought up with one QPS profile and then another must get the
// new flags: the config step's check names the wanted content, and the
// scheduler's file name changes with it so that its static pod restarts.
func TestPlanProfileSwitchReconfigures(t *testing.T) {
	steps := map[string]map[string]Step{}
	for _, prof := range []string{"default", "tuned"} {
		p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: prof, KdbenchBinary: fakeBinary})
		require.NoError(t, err)
		steps[prof] = map[string]Step{}
		for _, s := range p.Steps {
			steps[prof][s.Name] = s
		}
	}
	d, tu := steps["default"], steps["tuned"]
	require.NotEqual(t, d["kubeadm-config"].Check, tu["kubeadm-config"].Check)
	require.Regexp(t, `scheduler-[0-9a-f]{12}\.yaml`, tu["kubeadm-config"].Apply)
	require.Equal(t, d["control-plane-flags"].Check, tu["control-plane-flags"].Check, "compares wanted with applied, whatever they are")
	require.Contains(t, tu["control-plane-flags"].Apply, "kubeadm init phase control-plane all")
	require.Contains(t, tu["control-plane-flags"].Apply, "kubeadm init phase etcd local")
	require.Equal(t, d["kubeadm-init"], tu["kubeadm-init"], "a new profile never re-creates the cluster")
}
