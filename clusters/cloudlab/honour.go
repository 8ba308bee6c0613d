package cloudlab

import (
	"context"
	"fmt"
	"strings"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
)

// Check implements clusters.Checker from the inventory alone, before any node
// is touched: the bootstrap sets any QPS profile of the table, but it cannot
// add machines, and its workers run kubeadm's kubelet with real containers,
// not kdbench's node agents, so it gives no pod a sandbox delay. (Up attaches
// through the existing provider, which checks the same on the running
// cluster.)
func (p *Provider) Check(_ context.Context, spec clusters.Spec) (clusters.Spec, clusters.Refusals, error) {
	if spec.Name == "" {
		spec.Name = defaultClusterName
	}
	inv, err := p.inventory(spec.Name)
	if err != nil {
		return spec, nil, err
	}
	if spec.QPSProfile == "" {
		spec.QPSProfile = "default"
	}
	var out clusters.Refusals
	if _, ok := local.Profiles[spec.QPSProfile]; !ok {
		out = append(out, clusters.Refusal{Setting: clusters.SettingQPSProfile, Why: fmt.Sprintf(
			"%q is not a profile the bootstrap knows (known: %s)", spec.QPSProfile, strings.Join(local.ProfileNames(), ", "))})
	}
	workers := inv.Workers()
	if d, err := p.workDir(spec.Name); err == nil && p.controlPlane(d) == ControlPlaneProcesses {
		// kdbench's own node agents serve the workers: they simulate any
		// number of nodes, with any sandbox delay.
		return spec, out, nil
	}
	if spec.NodesExact && workers != spec.Nodes {
		out = append(out, clusters.Refusal{Setting: clusters.SettingNodes, Why: fmt.Sprintf(
			"the cloudlab provider cannot create nodes: cluster %s has %d workers, the experiment asks for %d (run that size on an experiment of that many, or on the local provider)", spec.Name, workers, spec.Nodes)})
	}
	if spec.SandboxDelay != 0 {
		out = append(out, clusters.Refusal{Setting: clusters.SettingSandboxDelay, Why: fmt.Sprintf(
			"%s asked for, but the %d workers of cloudlab cluster %s run kubeadm's kubelet with real containers (the bootstrap installs no kdbench node agent), which cannot hold pods for a set delay", spec.SandboxDelay, workers, spec.Name)})
	}
	return spec, out, nil
}

// Workers counts the worker nodes.
func (inv Inventory) Workers() int {
	n := 0
	for _, node := range inv.Nodes {
		if node.Role == RoleWorker {
			n++
		}
	}
	return n
}
