package cloudlab

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/kdbench/kdbench/workloads/burst"
)

// TestPinnedAsTheArtifact: the versions the bootstrap installs are the
// artifact's (scripts/install.sh, manifests/kubeadm/flannel.large.yaml,
// manifests/knative/); docs/cloudlab.md lists where kdbench differs.
func TestPinnedAsTheArtifact(t *testing.T) {
	require.Equal(t, map[string]string{
		"kubernetes": "v1.32.0", "flannel": "v0.25.5", "pause": "registry.k8s.io/pause:3.10",
		"workload-image": "docker.io/library/alpine:3.20",
	}, Versions())
	require.Equal(t, "1.32.0-1.1", kubePackageVersion, "install.sh: kubelet=1.32.0-1.1 kubeadm=1.32.0-1.1 kubectl=1.32.0-1.1")
	require.Equal(t, "https://pkgs.k8s.io/core:/stable:/v1.32/deb/", kubeAptRepo)
	require.Equal(t, "v1.15.0", KnativeVersion, "manifests/knative: app.kubernetes.io/version 1.15.0")
	require.Equal(t, map[string]string{"knative-serving": "v1.15.0", "net-kourier": "v1.15.0"}, knativeVersions())
}

// TestProfileRequests25Gbps: the paper's xl170 links.
func TestProfileRequests25Gbps(t *testing.T) {
	require.Equal(t, 25_000_000, LinkSpeedKbps)
	got, err := Profile(ProfileParams{Nodes: 80, Hardware: "xl170", OS: "UBUNTU22-64-STD"})
	require.NoError(t, err)
	require.Contains(t, string(got), "portal.ParameterType.INTEGER, 25000000,")
	require.Contains(t, string(got), "lan.bandwidth = params.linkSpeed")
}

// TestContainerdAsTheArtifact: containerd without ulimits, CRI containers
// without default rlimits, systemd cgroups, the pause image 3.10.
func TestContainerdAsTheArtifact(t *testing.T) {
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "artifact", KdbenchBinary: fakeBinary})
	require.NoError(t, err)
	var s Step
	for _, x := range p.Steps {
		if x.Name == "containerd" {
			s = x
		}
	}
	for _, want := range []string{"LimitNPROC=infinity", "LimitCORE=infinity", "LimitNOFILE=infinity", "jq 'del(.process.rlimits)'",
		`base_runtime_spec = "/etc/containerd/cri-base.json"`, "SystemdCgroup = true", `sandbox_image = "registry.k8s.io/pause:3.10"`} {
		require.Contains(t, s.Apply, want)
	}
	require.Contains(t, s.Check, "LimitNOFILE --value)\" = infinity")
	require.Contains(t, s.Check, "base_runtime_spec")
}

// The workload's pods never wait on a registry: their image is the one the
// workers pre-pull, and their pull policy never pulls a present image (the
// artifact's Never; IfNotPresent is the same for a pre-pulled tag, and
// still works where a pull is allowed).
func TestWorkloadNeverPullsAPresentImage(t *testing.T) {
	c := burst.Deployment("ns", "fn", 1).Spec.Template.Spec.Containers[0]
	require.Equal(t, "docker.io/library/"+c.Image, workloadImage)
	require.Contains(t, []corev1.PullPolicy{corev1.PullNever, corev1.PullIfNotPresent}, c.ImagePullPolicy)
	require.NotContains(t, c.Image, ":latest", "a :latest image is pulled even when present")
}

// The part of Flannel's release manifest the bootstrap edits.
const flannelExcerpt = `  net-conf.json: |
    {
      "Network": "10.244.0.0/16",
      "EnableNFTables": false,
      "Backend": {
        "Type": "vxlan"
      }
    }
      containers:
      - args:
        - --ip-masq
        - --kube-subnet-mgr
        command:
        - /opt/bin/flanneld
`

// TestFlannelEdit runs the bootstrap's sed over the manifest's shape: the
// pod network becomes kdbench's, and flanneld gets the artifact's
// --iface-regex at the indentation of its other arguments.
func TestFlannelEdit(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	c := exec.Command(bash, "-c", "sed "+flannelSed)
	c.Stdin = strings.NewReader(flannelExcerpt)
	out, err := c.CombinedOutput()
	require.NoError(t, err, "%s", out)
	want := strings.NewReplacer(`"10.244.0.0/16"`, `"10.64.0.0/11"`,
		"        - --kube-subnet-mgr\n", "        - --kube-subnet-mgr\n        - --iface-regex=10\\.10\\.*\\.*\n").Replace(flannelExcerpt)
	require.Equal(t, want, string(out))
}

// The image the workers pre-pull is the one the workload's pods run.
func TestWorkloadImageIsPrePulled(t *testing.T) {
	require.Equal(t, "docker.io/library/"+burst.Image, workloadImage)
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "default", KdbenchBinary: fakeBinary})
	require.NoError(t, err)
	for _, s := range p.StepsFor(p.Inventory.Nodes[1]) {
		if s.Name == "workload-image" {
			require.Contains(t, s.Apply, "images pull -q "+workloadImage)
			return
		}
	}
	t.Fatal("workers have no workload-image step")
}

// No add-on that no system uses: the control plane's last phase only waits
// for the nodes.
func TestNoUnusedAddons(t *testing.T) {
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "tuned", KdbenchBinary: fakeBinary})
	require.NoError(t, err)
	for _, s := range p.Steps {
		for _, addon := range []string{"knative", "kourier", "kwok", "prometheus", "dirigent", "go.dev"} {
			require.NotContains(t, strings.ToLower(s.Name+s.Apply), addon, "step %s", s.Name)
		}
	}
}
