package cloudlab

import (
	"context"
	"fmt"
	"time"

	"github.com/kdbench/kdbench/clusters"
)

// After a run the cluster is kept, but what it lost during the run is
// said: Down (without reset) probes every node, so that a run whose worker
// host died or whose component stopped ends with an error naming the host,
// the component and its log (quoted where the host still answers).

// probeSteps check that the cluster's components still run on each node;
// a failed check's apply prints the component's log tail and fails, so the
// runner's error for that node quotes it.
func probeSteps(s *State) ([]Step, error) {
	fail := func(component, log, tail string) string {
		return `echo "` + component + ` on $NODE_NAME is not running (or does not answer); log $NODE_NAME:` + log + `:"
` + tail + `
exit 1`
	}
	if s.ControlPlane != ControlPlaneProcesses {
		return []Step{{
			Name: "probe-kubelet", Phase: PhasePrepare, Roles: allRoles, Timeout: time.Minute,
			Check: `systemctl is-active -q kubelet`,
			Apply: fail("kubelet", "journalctl -u kubelet", "journalctl -u kubelet -n 15 --no-pager || true"),
		}, {
			Name: "probe-apiserver", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute,
			Check: kubectl + ` get --raw=/readyz --request-timeout=10s >/dev/null`,
			Apply: fail("kube-apiserver", "/var/log/pods/kube-system_kube-apiserver-*", "tail -n 15 /var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log 2>/dev/null || true"),
		}}, nil
	}
	hp, err := hostPlan(s.Inventory, clusters.Spec{Name: s.Name, QPSProfile: s.QPSProfile})
	if err != nil {
		return nil, err
	}
	cp, err := hp.ControlPlaneProcesses()
	if err != nil {
		return nil, err
	}
	var out []Step
	for _, c := range cp {
		st := startStep(c, hp, PhaseControlPlane, cpOnly, "")
		out = append(out, Step{Name: "probe-" + c.Name, Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute,
			Check: st.Check, Apply: fail(c.Name, c.Log, "tail -n 15 "+c.Log+" || true")})
	}
	i := 0
	for _, n := range s.Inventory.Nodes {
		if n.Role != RoleWorker {
			continue
		}
		agent, err := hp.NodeAgentProcess(i, n.Name)
		if err != nil {
			return nil, err
		}
		i++
		st := startStep(agent, hp, PhaseJoin, workers, n.Name)
		out = append(out, Step{Name: "probe-" + agent.Name, Phase: PhaseJoin, Roles: workers, Node: n.Name, Timeout: time.Minute,
			Check: st.Check, Apply: fail(agent.Name, agent.Log, "tail -n 15 "+agent.Log+" || true")})
	}
	return out, nil
}

// probe runs probeSteps on the cluster name recorded in state.json, as it
// was left: every node is reached, nothing is changed.
func (p *Provider) probe(ctx context.Context, name string) error {
	d, err := p.workDir(name)
	if err != nil {
		return err
	}
	s, err := readState(d.State())
	if err != nil || s == nil {
		return err
	}
	steps, err := probeSteps(s)
	if err != nil {
		return err
	}
	plan := &Plan{Inventory: s.Inventory, QPSProfile: s.QPSProfile, ControlPlane: s.ControlPlane, Addons: s.Addons, Steps: steps}
	if err := p.run(ctx, d, name, plan); err != nil {
		return fmt.Errorf("cloudlab cluster %q is kept, but not all of it still runs: %w", name, err)
	}
	return nil
}
