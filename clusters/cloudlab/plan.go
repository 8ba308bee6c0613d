package cloudlab

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kdbench/kdbench/clusters/local"
)

// PlanOptions select what the bootstrap installs.
type PlanOptions struct {
	// QPSProfile names a local.Profiles entry ("default", "artifact" or "tuned").
	QPSProfile string
	// KdbenchBinary is a linux/amd64 kdbench executable copied to every node
	// (it runs the Kubedirect components).
	KdbenchBinary string
	// Addons are the add-ons to install (AddonKnative); the systems the
	// cluster serves decide them (addonsFor), none by default.
	Addons []string
}

// Plan is the bootstrap of one inventory: the steps and each node's variables.
type Plan struct {
	Inventory  Inventory
	QPSProfile string
	// ControlPlane is how the control plane is made: kubeadm (default) or
	// processes.
	ControlPlane string `json:",omitempty"`
	// Addons installed beyond the cluster itself (AddonKnative).
	Addons []string `json:",omitempty"`
	// Nodes and SandboxDelay are what a process control plane's node
	// agents serve: simulated nodes, shared among the workers, and the
	// delay from bind to Ready.
	Nodes        int           `json:",omitempty"`
	SandboxDelay time.Duration `json:",omitempty"`
	Steps        []Step
}

// Variables that steps see beyond the node's own. Secrets (the join token)
// are sent only to the steps that name them; exports (the CA hash) once the
// query that sets them has run.
const (
	envJoinToken  = "KDB_JOIN_TOKEN"
	envCACertHash = "KDB_CA_CERT_HASH"
	// envNodesExpected is set by the runner before each phase: the nodes
	// that have not failed so far.
	envNodesExpected = "KDB_NODES_EXPECTED"
)

// Env returns the variables exported to node n's commands, in a fixed order.
func (p *Plan) Env(n Node) [][2]string {
	cp := p.Inventory.ControlPlane()
	return [][2]string{
		{"NODE_NAME", n.Name}, {"NODE_ROLE", string(n.Role)}, {"NODE_IP", n.IP},
		{"CP_IP", cp.IP}, {"CP_HOST", cp.Host},
	}
}

// StepsFor returns node n's steps in order.
func (p *Plan) StepsFor(n Node) []Step {
	var out []Step
	for _, s := range p.Steps {
		if s.RunsOn(n.Role) && (s.Node == "" || s.Node == n.Name) {
			out = append(out, s)
		}
	}
	return out
}

// NewPlan builds the bootstrap for inv.
func NewPlan(inv Inventory, o PlanOptions) (*Plan, error) {
	if o.QPSProfile == "" {
		o.QPSProfile = "default"
	}
	prof, ok := local.Profiles[o.QPSProfile]
	if !ok {
		return nil, fmt.Errorf("unknown QPS profile %q (known: %v)", o.QPSProfile, local.ProfileNames())
	}
	prof = largeCluster(prof)
	binSum, err := fileSHA256(o.KdbenchBinary)
	if err != nil {
		return nil, fmt.Errorf("kdbench binary for the nodes: %w", err)
	}
	schedYAML, err := schedulerConfig(prof)
	if err != nil {
		return nil, err
	}
	kubeadmYAML, err := kubeadmConfig(prof, inv.ControlPlane(), schedulerConfigPath(schedYAML))
	if err != nil {
		return nil, err
	}
	p := &Plan{Inventory: inv, QPSProfile: prof.Name}
	p.Steps = append(p.Steps, prepareSteps(o.KdbenchBinary, binSum)...)
	p.Steps = append(p.Steps, controlPlaneSteps(kubeadmYAML, schedYAML)...)
	p.Steps = append(p.Steps, joinSteps(binSum)...)
	p.Steps = append(p.Steps, addonSteps()...)
	for _, a := range o.Addons {
		switch a {
		case AddonKnative:
			p.Steps = append(p.Steps, knativeSteps()...)
		default:
			return nil, fmt.Errorf("unknown add-on %q (known: %s)", a, AddonKnative)
		}
		p.Addons = append(p.Addons, a)
	}
	return p, nil
}

// largeCluster is a profile as the bootstrap applies it to real machines:
// "tuned" there is the artifact's large-cluster kubeadm configuration
// (manifests/kubeadm/init.large.yaml and kube-scheduler-config.large.yaml):
// an 8 GiB etcd quota compacted every 5 minutes, and a scheduler that scores
// 5% of the nodes. The command-line flags stay the table's, so the existing
// provider reads the profile back.
func largeCluster(p local.Profile) local.Profile {
	if p.Name != "tuned" {
		return p
	}
	p.EtcdQuotaBytes = 8 << 30
	p.EtcdCompactionPeriod = "5m"
	p.PercentageOfNodesToScore = 5
	return p
}

// heredoc writes data to path through a quoted here-document (no expansion).
func heredoc(path string, data []byte) string {
	return "cat > " + path + " <<'KDBENCH_EOF'\n" + strings.TrimRight(string(data), "\n") + "\nKDBENCH_EOF"
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func fileSHA256(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("no file given (--kdbench-binary)")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
