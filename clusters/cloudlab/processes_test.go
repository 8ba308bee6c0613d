package cloudlab

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
)

// The process control plane's plan: which steps run where, each worker's
// agent with its own share, and the hosts' files made once.
func TestProcessPlan(t *testing.T) {
	inv, err := ParseHosts([]byte("cp root@10.77.1.10 10.77.1.10\nw1 root@10.77.1.11 10.77.1.11\nw2 root@10.77.1.12 10.77.1.12\n"))
	require.NoError(t, err)
	k8s := t.TempDir()
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		require.NoError(t, os.WriteFile(filepath.Join(k8s, b), []byte("#!/bin/sh\n"+b), 0o755))
	}
	root := t.TempDir()
	p := New(Options{Root: root, KdbenchBinary: fakeBinary, ControlPlane: ControlPlaneProcesses, K8sBinDir: k8s})
	p.opts.Inventory = filepath.Join(root, "hosts")
	require.NoError(t, os.WriteFile(p.opts.Inventory, []byte("cp root@10.77.1.10 10.77.1.10\nw1 root@10.77.1.11 10.77.1.11\nw2 root@10.77.1.12 10.77.1.12\n"), 0o644))
	spec := clusters.Spec{Name: "tb", Nodes: 5, QPSProfile: "tuned"}
	plan, err := p.Plan(spec)
	require.NoError(t, err)
	require.Equal(t, inv.Nodes, plan.Inventory.Nodes)

	names := func(n Node) string {
		var out []string
		for _, s := range plan.StepsFor(n) {
			out = append(out, s.Phase.String()+"/"+s.Name)
		}
		return strings.Join(out, " ")
	}
	require.Equal(t, "prepare/kdbench-binary prepare/kube-apiserver-binary prepare/kube-controller-manager-binary prepare/kube-scheduler-binary prepare/cluster-files "+
		"control-plane/etcd control-plane/kube-apiserver control-plane/grant-node-agent control-plane/kube-controller-manager control-plane/kube-scheduler", names(inv.Nodes[0]))
	require.Equal(t, "prepare/kdbench-binary prepare/agent-files join/nodeagent", names(inv.Nodes[1]))

	agent := plan.StepsFor(inv.Nodes[2])[2]
	for _, want := range []string{"'--nodes=2'", "'--node-name-prefix=w2-'", "'--metrics-addr=10.77.1.12:10250'", "curl -fsS -o /dev/null --max-time 5 'http://10.77.1.12:10250/readyz'"} {
		require.Contains(t, agent.Apply, want)
	}
	apiserver := plan.StepsFor(inv.Nodes[0])[6]
	require.Contains(t, apiserver.Apply, "'--bind-address=10.77.1.10'")
	require.Contains(t, apiserver.Check, "--cert /opt/kdbench/cluster/pki/admin.crt")
	kc, err := os.ReadFile(filepath.Join(root, "clusters", "tb", "kubeconfig"))
	require.NoError(t, err)
	require.Contains(t, string(kc), "server: https://10.77.1.10:6443")
	for _, f := range []string{"ca.crt", "ca.key"} {
		_, err := os.Stat(filepath.Join(root, "clusters", "tb", "pki", f))
		require.NoError(t, err, "the cluster CA beside the kubeconfig, for kd's links")
	}

	// A second plan reuses the files: same bundles, same sums.
	again, err := p.Plan(spec)
	require.NoError(t, err)
	for i := range plan.Steps {
		if plan.Steps[i].Upload != nil {
			require.Equal(t, plan.Steps[i].Upload.SHA256, again.Steps[i].Upload.SHA256, plan.Steps[i].Name)
		}
	}
	var b bytes.Buffer
	require.NoError(t, WritePlan(&b, plan))
	require.Contains(t, b.String(), "control plane as processes")
	require.Contains(t, b.String(), "### nodeagent (phase join; on w2;")

	// `run` and `ae` pass no --control-plane: the mode the last up recorded
	// stands, and only without a record is it kubeadm.
	d, err := p.workDir("tb")
	require.NoError(t, err)
	require.NoError(t, (&stateFile{path: d.State(), s: &State{Name: "tb", ControlPlane: ControlPlaneProcesses}}).write())
	run := New(Options{Root: root, KdbenchBinary: fakeBinary, K8sBinDir: k8s, Inventory: p.opts.Inventory})
	recorded, err := run.Plan(spec)
	require.NoError(t, err)
	require.Equal(t, ControlPlaneProcesses, recorded.ControlPlane)
	require.Equal(t, 5, recorded.Nodes, "what the agents serve, for state.json")
	fresh, err := run.Plan(clusters.Spec{Name: "other", Nodes: 5})
	require.NoError(t, err)
	require.Empty(t, fresh.ControlPlane, "kubeadm, the default")

	// Too many nodes for the workers' address ranges is refused up front.
	_, err = p.Plan(clusters.Spec{Name: "tb", Nodes: 300})
	require.ErrorContains(t, err, "want 1 to 128 per worker host")
}

// A run (Options.Attach) plans a recorded process control plane with the
// settings its last up gave; `cluster up` plans what it is asked.
func TestPlanSpecOfARun(t *testing.T) {
	asked := clusters.Spec{Name: "tb", Nodes: 80, SandboxDelay: 0, QPSProfile: ""}
	for _, tc := range []struct {
		name     string
		attach   bool
		flag     string
		recorded *State
		want     clusters.Spec
		wantErr  string
	}{
		{"cluster up: as asked", false, "", &State{ControlPlane: ControlPlaneProcesses, Nodes: 6, SandboxDelay: 200 * time.Millisecond}, asked, ""},
		{"run on a process cluster: as recorded", true, "", &State{ControlPlane: ControlPlaneProcesses, Nodes: 6, SandboxDelay: 200 * time.Millisecond, QPSProfile: "artifact"},
			clusters.Spec{Name: "tb", Nodes: 6, SandboxDelay: 200 * time.Millisecond, QPSProfile: "artifact"}, ""},
		{"run on a kubeadm cluster: as asked", true, "", &State{ControlPlane: ControlPlaneKubeadm}, asked, ""},
		{"run with nothing recorded", true, "", nil, asked, ""},
		{"run on an older record", true, "", &State{ControlPlane: ControlPlaneProcesses}, asked, "does not record how many nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Root: t.TempDir(), Attach: tc.attach, ControlPlane: tc.flag})
			d, err := p.workDir("tb")
			require.NoError(t, err)
			require.NoError(t, d.mkdirs())
			if tc.recorded != nil {
				require.NoError(t, (&stateFile{path: d.State(), s: tc.recorded}).write())
			}
			got, err := p.planSpec(d, asked)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// A run, which has no SSH flags, logs in as the last up did.
func TestRecordedLogin(t *testing.T) {
	p := New(Options{Root: t.TempDir()})
	d, err := p.workDir("tb")
	require.NoError(t, err)
	require.NoError(t, d.mkdirs())
	require.Equal(t, Login{}, recordedLogin(d), "nothing recorded")
	want := Login{User: "root", Key: "/keys/id_ed25519"}
	require.NoError(t, writeHostsFile(d.Kubeconfig(), HostsFile{Cluster: "tb", Login: want}))
	require.Equal(t, want, recordedLogin(d))
}
