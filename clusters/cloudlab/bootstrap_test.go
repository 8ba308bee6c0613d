package cloudlab

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
)

// wantActions is what a node receives for its steps: every check, and for a
// step not yet done its apply and the check that confirms it.
func wantActions(p *Plan, n Node, done func(step string) bool) []string {
	var out []string
	for _, s := range p.StepsFor(n) {
		switch {
		case s.Query():
			out = append(out, s.Name+"/query")
		case done(s.Name):
			out = append(out, s.Name+"/check")
		default:
			out = append(out, s.Name+"/check", s.Name+"/apply", s.Name+"/check")
		}
	}
	return out
}

func none(string) bool { return false }
func all(string) bool  { return true }

func readStateFile(t *testing.T, root string) *State {
	t.Helper()
	s, err := readState(filepath.Join(root, "clusters", "kdbench", "state.json"))
	require.NoError(t, err)
	require.NotNil(t, s)
	return s
}

func TestUpRunsThePlanThenOnlyChecks(t *testing.T) {
	f := newFleet(t, 3)
	root := t.TempDir()
	p := f.provider(t, root, 2, io.Discard)
	spec := clusters.Spec{Name: "kdbench", QPSProfile: "tuned"}
	plan, err := p.Plan(spec)
	require.NoError(t, err)

	c, err := p.Up(context.Background(), spec)
	require.NoError(t, err)
	require.Equal(t, ProviderName, c.Provider)
	require.Equal(t, "tuned", c.QPSProfile)
	require.Equal(t, FlannelVersion, c.Components["flannel"])
	kc, err := os.Stat(c.Kubeconfig)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), kc.Mode().Perm(), "the kubeconfig holds a client key")

	for _, n := range plan.Inventory.Nodes {
		require.Equal(t, wantActions(plan, n, none), f.node(n.Name).actions(), "first run on %s", n.Name)
	}
	// The join used the token and the CA hash the control plane gave.
	w1 := f.node("w1")
	var join string
	for _, c := range w1.cmds {
		if c.Step == "kubeadm-join" && c.Action == "apply" {
			join = c.Script
		}
	}
	sec, err := loadSecrets(filepath.Join(root, "clusters", "kdbench", "secrets.json"))
	require.NoError(t, err)
	require.Contains(t, join, "export KDB_JOIN_TOKEN='"+sec.JoinToken+"'")
	require.Contains(t, join, "export KDB_CA_CERT_HASH='0123abcd'")
	require.Contains(t, join, "export NODE_IP='10.10.1.2'")
	// The binary crossed SSH once, to the control plane; the workers
	// fetched it from there and checked its hash.
	data, err := os.ReadFile(fakeBinary)
	require.NoError(t, err)
	sum, err := fileSHA256(fakeBinary)
	require.NoError(t, err)
	for _, n := range f.nodes {
		var got [][]byte
		for _, c := range n.cmds {
			if c.Stdin != nil {
				got = append(got, c.Stdin)
			}
			if c.Step == "kdbench-fetch" && c.Action == "apply" {
				require.Contains(t, c.Script, `curl -fsS "http://$CP_IP:8099/kdbench"`)
				require.Contains(t, c.Script, sum)
				require.Contains(t, c.Script, "export CP_IP='10.10.1.1'")
			}
		}
		if n.name == "cp" {
			require.Equal(t, [][]byte{data}, got)
		} else {
			require.Empty(t, got, n.name)
		}
	}

	// A second run finds everything done: checks and read-only queries only.
	f.resetRecords()
	_, err = p.Up(context.Background(), spec)
	require.NoError(t, err)
	for _, n := range plan.Inventory.Nodes {
		require.Equal(t, wantActions(plan, n, all), f.node(n.Name).actions(), "second run on %s", n.Name)
	}
	st := readStateFile(t, root)
	for _, n := range plan.Inventory.Nodes {
		for _, s := range plan.StepsFor(n) {
			require.Equal(t, statusDone, st.Steps[n.Name][s.Name].Status, "%s/%s", n.Name, s.Name)
		}
	}
}

func TestUpResumesAfterANodeFails(t *testing.T) {
	f := newFleet(t, 3)
	root := t.TempDir()
	var progress bytes.Buffer
	p := f.provider(t, root, 4, &progress)
	spec := clusters.Spec{Name: "kdbench"}
	plan, err := p.Plan(spec)
	require.NoError(t, err)
	f.node("w2").failStep("containerd", -1)

	_, err = p.Up(context.Background(), spec)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "1 of 4 nodes failed")
	require.Contains(t, msg, "node w2 (127.0.0.1:")
	require.Contains(t, msg, "step containerd: failed after 3 attempts")
	require.Contains(t, msg, "command: DEBIAN_FRONTEND=noninteractive apt-get")
	require.Contains(t, msg, "E: containerd failed on w2", "the error carries the output's tail")
	require.Contains(t, msg, filepath.Join("logs", "w2.log"))
	require.Contains(t, progress.String(), "w2: containerd: attempt 2 failed, retrying")
	require.Regexp(t, `(?m)^w2 +worker +1/7 +1 +containerd$`, progress.String(), "the summary shows where w2 stopped")
	require.Regexp(t, `(?m)^cp +control-plane +14/14 +12 +$`, progress.String())

	// w2 stopped at containerd and was left out of the join; the others went on.
	w2 := f.node("w2").actions()
	require.Equal(t, "containerd/apply", w2[len(w2)-1])
	require.NotContains(t, w2, "kubeadm-join/check")
	require.Contains(t, f.node("w1").actions(), "kubeadm-join/apply")
	require.Contains(t, f.node("cp").actions(), "cni-flannel/apply")
	for _, c := range f.node("cp").cmds {
		if c.Step == "nodes-ready" {
			require.Contains(t, c.Script, "export KDB_NODES_EXPECTED='3'", "the add-ons wait for the nodes that did not fail")
		}
	}
	st := readStateFile(t, root)
	require.Equal(t, statusFailed, st.Steps["w2"]["containerd"].Status)
	require.Equal(t, 3, st.Steps["w2"]["containerd"].Attempts)
	require.Equal(t, statusDone, st.Steps["w2"]["os-prep"].Status)

	// Fixed: the re-run applies on w2 from containerd on, and only checks elsewhere.
	f.node("w2").failStep("containerd", 0)
	f.resetRecords()
	progress.Reset()
	_, err = p.Up(context.Background(), spec)
	require.NoError(t, err)
	require.Contains(t, progress.String(), "resuming: last run failed at [w2/containerd]")
	for _, n := range plan.Inventory.Nodes {
		done := all
		if n.Name == "w2" {
			done = func(step string) bool { return step == "os-prep" }
		}
		require.Equal(t, wantActions(plan, n, done), f.node(n.Name).actions(), "re-run on %s", n.Name)
	}
}

func TestUpRetriesWithBackoff(t *testing.T) {
	f := newFleet(t, 1)
	root := t.TempDir()
	p := f.provider(t, root, 2, io.Discard)
	f.node("cp").failStep("cni-flannel", 2)
	_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.NoError(t, err)
	require.Equal(t, 3, readStateFile(t, root).Steps["cp"]["cni-flannel"].Attempts)
}

func TestControlPlaneFailureStopsTheBootstrap(t *testing.T) {
	f := newFleet(t, 2)
	p := f.provider(t, t.TempDir(), 4, io.Discard)
	f.node("cp").failStep("kubeadm-init", -1)
	_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.ErrorContains(t, err, "node cp (127.0.0.1:")
	require.ErrorContains(t, err, "step kubeadm-init")
	for _, w := range []string{"w1", "w2"} {
		require.NotContains(t, strings.Join(f.node(w).actions(), " "), "kubeadm-join", "%s must not join a failed control plane", w)
	}
}

func TestFanOutIsBounded(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		f := newFleet(t, 7)
		f.delay = 2 * time.Millisecond
		p := f.provider(t, t.TempDir(), parallel, io.Discard)
		_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
		require.NoError(t, err)
		require.LessOrEqual(t, int(f.maxActive.Load()), parallel, "--parallel %d", parallel)
		if parallel > 1 {
			require.Greater(t, int(f.maxActive.Load()), 1, "nodes ran one at a time with --parallel %d", parallel)
		}
	}
}

func TestNoSecretReachesLogsStateOrErrors(t *testing.T) {
	f := newFleet(t, 2)
	root := t.TempDir()
	var progress bytes.Buffer
	p := f.provider(t, root, 4, &progress)
	// The fake echoes the failing script, token included, as kubeadm might.
	f.node("w1").failStep("kubeadm-join", -1)
	_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.Error(t, err)

	dir := filepath.Join(root, "clusters", "kdbench")
	sec, serr := loadSecrets(filepath.Join(dir, "secrets.json"))
	require.NoError(t, serr)
	require.Regexp(t, `^[a-z0-9]{6}\.[a-z0-9]{16}$`, sec.JoinToken)
	info, serr := os.Stat(filepath.Join(dir, "secrets.json"))
	require.NoError(t, serr)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	require.Contains(t, err.Error(), redacted, "the echoed token is in the error, redacted")
	require.NotContains(t, err.Error(), sec.JoinToken)
	require.NotContains(t, progress.String(), sec.JoinToken)
	logged := 0
	require.NoError(t, filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "secrets.json" {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NotContains(t, string(data), sec.JoinToken, path)
		if fi.Name() != "kubeconfig" {
			require.NotContains(t, string(data), "S3CRETKEYDATA", "%s: the fetched kubeconfig is never logged", path)
		}
		if strings.HasSuffix(path, ".log") {
			logged += strings.Count(string(data), redacted)
		}
		return nil
	}))
	require.Positive(t, logged, "the logs show where the token was")
	var st State
	data, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, json.Unmarshal(data, &st))
	require.Contains(t, st.Steps["w1"]["kubeadm-join"].Error, redacted)
}

func TestUnreachableNodeFailsAfterRetries(t *testing.T) {
	f := newFleet(t, 1)
	p := f.provider(t, t.TempDir(), 2, io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	f.node("w1").port = dead // nothing listens there any more
	p.opts.Inventory = f.hosts(t)
	_, err = p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.ErrorContains(t, err, "node w1: ssh to 127.0.0.1:"+strconv.Itoa(dead))
	require.ErrorContains(t, err, "(3 attempts)")
	require.Contains(t, f.node("cp").actions(), "cni-flannel/apply", "the reachable nodes went on")
}

// Experiment runners call Down after each group: without ResetOnDown (the
// registered provider's default) it must not change the nodes, only check
// that they still run what they ran (probe.go); a node lost meanwhile is
// named.
func TestDownKeepsTheClusterUnlessAskedToReset(t *testing.T) {
	f := newFleet(t, 1)
	root := t.TempDir()
	p := f.provider(t, root, 2, io.Discard)
	_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.NoError(t, err)
	for _, n := range f.nodes {
		n.mu.Lock()
		n.applied["probe-kubelet"], n.applied["probe-apiserver"] = true, true // running, as after up
		n.mu.Unlock()
	}
	f.resetRecords()
	p.opts.ResetOnDown = false
	require.NoError(t, p.Down(context.Background(), "kdbench"))
	require.Equal(t, []string{"probe-kubelet/check", "probe-apiserver/check"}, f.node("cp").actions())
	require.Equal(t, []string{"probe-kubelet/check"}, f.node("w1").actions())

	// w1's kubelet stopped during the run: Down says so, with its log.
	f.node("w1").mu.Lock()
	f.node("w1").applied["probe-kubelet"] = false
	f.node("w1").fail["probe-kubelet"] = -1
	f.node("w1").mu.Unlock()
	err = p.Down(context.Background(), "kdbench")
	require.ErrorContains(t, err, `cloudlab cluster "kdbench" is kept, but not all of it still runs: 1 of 2 nodes failed`)
	require.ErrorContains(t, err, "node w1 (127.0.0.1:")
	require.ErrorContains(t, err, "step probe-kubelet: ")
	require.ErrorContains(t, err, "kubelet on $NODE_NAME is not running")
	for _, n := range f.nodes {
		for _, a := range n.actions() {
			require.True(t, strings.HasPrefix(a, "probe-"), "%s: Down without reset ran %s", n.name, a)
		}
	}
	_, err = os.Stat(filepath.Join(root, "clusters", "kdbench", "kubeconfig"))
	require.NoError(t, err)

	reg, err := clusters.Get(ProviderName)
	require.NoError(t, err)
	require.False(t, reg.(*Provider).opts.ResetOnDown)
}

func TestManyFailuresAreSummarized(t *testing.T) {
	f := newFleet(t, 7)
	p := f.provider(t, t.TempDir(), 8, io.Discard)
	for _, n := range f.nodes[1:] {
		n.failStep("kube-packages", -1)
	}
	_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.ErrorContains(t, err, "7 of 8 nodes failed")
	require.Equal(t, maxDetailedErrors, strings.Count(err.Error(), "step kube-packages:"))
	require.ErrorContains(t, err, "and 2 more nodes: w6, w7 (see state.json)")
}

func TestDownOfAClusterNeverUpIsANoOp(t *testing.T) {
	p := New(Options{Root: t.TempDir(), ResetOnDown: true})
	require.NoError(t, p.Down(context.Background(), "kdbench"))
	s, err := p.Status(context.Background(), "kdbench")
	require.NoError(t, err)
	require.False(t, s.Running)
	require.NotEmpty(t, s.Problems)
}

func TestDownResetsNodesAndKeepsTheInventory(t *testing.T) {
	f := newFleet(t, 1)
	root := t.TempDir()
	p := f.provider(t, root, 2, io.Discard)
	_, err := p.Up(context.Background(), clusters.Spec{Name: "kdbench"})
	require.NoError(t, err)
	// The fakes report "reset" not done until it is applied.
	f.resetRecords()
	require.NoError(t, p.Down(context.Background(), "kdbench"))
	for _, n := range f.nodes {
		require.Equal(t, []string{"reset/check", "reset/apply", "reset/check"}, n.actions(), n.name)
		require.Contains(t, n.cmds[1].Script, "kubeadm reset -f")
	}
	dir := filepath.Join(root, "clusters", "kdbench")
	for _, gone := range []string{"kubeconfig", "secrets.json"} {
		_, err := os.Stat(filepath.Join(dir, gone))
		require.ErrorIs(t, err, os.ErrNotExist, gone)
	}
	st := readStateFile(t, root)
	require.Len(t, st.Inventory.Nodes, 2)
	require.Empty(t, st.Steps)

	// Status now reports nothing done; up again works without --inventory.
	s, err := p.Status(context.Background(), "kdbench")
	require.NoError(t, err)
	require.False(t, s.Running)
	require.Equal(t, "control-plane, 0/14 steps done", s.Components["cp"])
	p.opts.Inventory = ""
	_, err = p.Plan(clusters.Spec{Name: "kdbench"})
	require.NoError(t, err)
}
