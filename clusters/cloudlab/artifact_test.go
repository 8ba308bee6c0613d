package cloudlab

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/workloads/burst"
)

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
