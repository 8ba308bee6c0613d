package cloudlab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/existing"
	"github.com/kdbench/kdbench/internal/fsutil"
)

// HostsFile is what `cluster up` leaves beside the cluster's kubeconfig so
// that a later `--provider existing --kubeconfig` attach (a run from the
// control-plane host) places components on the same hosts through the same
// SSH placer and reconfigures the same components (docs/providers.md). It
// names the login's key file, never holds a key.
type HostsFile struct {
	Cluster string `json:"cluster"`
	// ControlPlane is how the control plane was made (kubeadm, processes).
	ControlPlane string    `json:"controlPlane"`
	Inventory    Inventory `json:"inventory"`
	Login        Login     `json:"login"`
	// KnownHosts pins the hosts' keys (the work dir's known_hosts).
	KnownHosts string `json:"knownHosts"`
	Nodes      int    `json:"nodes"`
	QPSProfile string `json:"qpsProfile"`
}

func init() { existing.RegisterHosts(existing.HostsFile, attachHostsFile) }

// writeHostsFile writes f beside kubeconfig, with absolute paths.
func writeHostsFile(kubeconfig string, f HostsFile) error {
	for _, p := range []*string{&f.Login.Key, &f.Login.SSHConfig, &f.KnownHosts} {
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "~") {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(filepath.Dir(kubeconfig), existing.HostsFile), append(data, '\n'), 0o600)
}

// readHostsFile reads the hosts file at path.
func readHostsFile(path string) (HostsFile, error) {
	var f HostsFile
	data, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// recordedLogin is the login the hosts file in d records, if any.
func recordedLogin(d workDir) Login {
	f, err := readHostsFile(filepath.Join(filepath.Dir(d.Kubeconfig()), existing.HostsFile))
	if err != nil {
		return Login{}
	}
	return f.Login
}

// attachHostsFile gives c, attached by the existing provider, the hosts of
// the hosts file at path.
func attachHostsFile(_ context.Context, path string, c *clusters.Cluster) error {
	f, err := readHostsFile(path)
	if err != nil {
		return err
	}
	if len(f.Inventory.Nodes) == 0 {
		return fmt.Errorf("%s names no hosts", path)
	}
	d, err := newDialer(f.Login, f.KnownHosts, func(msg string) { fmt.Fprintf(os.Stderr, "warning: %s\n", msg) })
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.attach(c, d.dial)
}

// attach gives c a placer on f's hosts, through dial and, for a process
// control plane, a Reconfigurer and Crasher for its components and each worker's node
// agent endpoint (nodeagent.<host>: a plain name, as metrics files need).
func (f HostsFile) attach(c *clusters.Cluster, dial func(context.Context, Node) (conn, error)) error {
	pl := NewPlacer(f.Inventory, dial, ".kdbench/placed/"+f.Cluster)
	c.Placer = pl
	if f.ControlPlane != ControlPlaneProcesses {
		c.Reconfigurer, c.Crasher = nil, nil
		c.ReconfigureRefusal = "its workers run kubeadm's kubelets, not kdbench node agents that serve Kubedirect's direct mode (kd-family systems need a cluster made with `cluster up --provider cloudlab --control-plane processes`)"
		return nil
	}
	hp, err := hostPlan(f.Inventory, clusters.Spec{Name: f.Cluster, Nodes: f.Nodes, QPSProfile: f.QPSProfile})
	if err != nil {
		return fmt.Errorf("cluster %s's hosts: %w", f.Cluster, err)
	}
	rc := NewReconfigurer(pl, hp)
	c.Reconfigurer, c.Crasher = rc, rc
	c.ReconfigureRefusal = ""
	if c.Endpoints == nil {
		c.Endpoints = map[string]string{}
	}
	i := 0
	for _, n := range f.Inventory.Nodes {
		if n.Role != RoleWorker {
			continue
		}
		pr, err := hp.NodeAgentProcess(i, n.Name)
		if err != nil {
			return err
		}
		c.Endpoints["nodeagent."+n.Name] = strings.TrimSuffix(pr.HealthURL, "/readyz")
		i++
	}
	return nil
}
