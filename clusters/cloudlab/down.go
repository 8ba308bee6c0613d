package cloudlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/existing"
)

// Down and Status: the cluster after (or instead of) Up.

// Down, with ResetOnDown, resets every node of the cluster (kubeadm reset
// and kdbench's files) and forgets its state; without, it keeps the cluster
// for the next run and says what it lost (probe.go): a host that no longer
// answers, a component that no longer runs, each with its log. The
// CloudLab experiment itself always stays: terminate it in the CloudLab
// portal.
func (p *Provider) Down(ctx context.Context, name string) error {
	d, err := p.workDir(name)
	if err != nil {
		return err
	}
	if !p.opts.ResetOnDown {
		return p.probe(ctx, name)
	}
	if p.opts.Inventory == "" {
		if s, err := readState(d.State()); err == nil && s == nil {
			return nil // never brought up here: nothing to reset
		}
	}
	inv, err := p.inventory(name)
	if err != nil {
		return err
	}
	plan := &Plan{Inventory: inv, Steps: resetSteps()}
	if p.controlPlane(d) == ControlPlaneProcesses {
		plan = &Plan{Inventory: inv, ControlPlane: ControlPlaneProcesses, Steps: processResetSteps()}
	}
	if err := p.run(ctx, d, name, plan); err != nil {
		return err
	}
	for _, f := range []string{d.Kubeconfig(), d.Secrets(), d.File(existing.HostsFile)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	// The process control plane's certificates: the next up makes new ones.
	for _, dir := range []string{d.File("hosts"), d.File("pki")} {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	// Keep the inventory so that `up` can run again without --inventory.
	sf := &stateFile{path: d.State(), s: &State{Name: name, Inventory: inv}}
	return sf.write()
}

// controlPlane is the mode of the cluster: --control-plane if given, else
// the one its last up recorded.
func (p *Provider) controlPlane(d workDir) string {
	if p.opts.ControlPlane != "" {
		return p.opts.ControlPlane
	}
	if s, err := readState(d.State()); err == nil && s != nil && s.ControlPlane != "" {
		return s.ControlPlane
	}
	return ControlPlaneKubeadm
}

// Status reports from state.json how far each node got; it does not contact
// the nodes (`cluster up` again checks every step and resumes).
func (p *Provider) Status(_ context.Context, name string) (*clusters.Status, error) {
	d, err := p.workDir(name)
	if err != nil {
		return nil, err
	}
	s, err := readState(d.State())
	if err != nil {
		return nil, err
	}
	st := &clusters.Status{Name: name, Provider: ProviderName, Components: map[string]string{}}
	if s == nil {
		st.Problems = []string{fmt.Sprintf("no cloudlab cluster %q under %s", name, d.root)}
		return st, nil
	}
	plan := &Plan{Inventory: s.Inventory, Steps: allStepNames(s.Addons)}
	if s.ControlPlane == ControlPlaneProcesses {
		plan.Steps = recordedSteps(s)
	}
	done := 0
	for _, n := range s.Inventory.Nodes {
		want := plan.StepsFor(n)
		ok := 0
		for _, step := range want {
			switch r := s.Steps[n.Name][step.Name]; r.Status {
			case statusDone:
				ok++
			case statusFailed:
				st.Problems = append(st.Problems, r.Error)
			}
		}
		st.Components[n.Name] = fmt.Sprintf("%s, %d/%d steps done", n.Role, ok, len(want))
		if ok == len(want) {
			done++
		}
	}
	// Without contacting the cluster, "ready" means bootstrapped.
	st.NodesReady = done
	if _, err := os.Stat(d.Kubeconfig()); err == nil && done == len(s.Inventory.Nodes) {
		st.Running, st.Kubeconfig = true, d.Kubeconfig()
	}
	return st, nil
}

// recordedSteps are the steps state.json records, for Status of a process
// control plane (whose steps depend on the plan's inputs).
func recordedSteps(s *State) []Step {
	var out []Step
	for _, n := range s.Inventory.Nodes {
		for name := range s.Steps[n.Name] {
			out = append(out, Step{Name: name, Roles: []Role{n.Role}, Node: n.Name})
		}
	}
	return out
}

// allStepNames is the bootstrap's steps without their commands, for Status.
func allStepNames(addons []string) []Step {
	var out []Step
	steps := append(append(append(prepareSteps("", ""), controlPlaneSteps(nil, nil)...), joinSteps("")...), addonSteps()...)
	if slices.Contains(addons, AddonKnative) {
		steps = append(steps, knativeSteps()...)
	}
	for _, s := range steps {
		out = append(out, Step{Name: s.Name, Phase: s.Phase, Roles: s.Roles})
	}
	return out
}

// resetSteps undo the bootstrap on a node but leave the OS packages, so a
// later `up` is quick.
func resetSteps() []Step {
	return []Step{{
		Name: "reset", Phase: PhasePrepare, Roles: allRoles, Timeout: 5 * time.Minute, Retries: 1,
		Check: `! systemctl is-active -q kdbench-files &&
! test -e /etc/kubernetes/kubelet.conf -o -e /etc/kubernetes/manifests/kube-apiserver.yaml -o -e ` + kdbenchEtcDir + ` -o -e /opt/kdbench -o -e /usr/local/bin/kdbench`,
		Apply: `systemctl stop kdbench-files 2>/dev/null || true
kubeadm reset -f || true
rm -rf /etc/cni/net.d ` + kdbenchEtcDir + ` /opt/kdbench /usr/local/bin/kdbench /etc/default/kubelet`,
	}}
}
