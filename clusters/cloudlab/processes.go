package cloudlab

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/existing"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/internal/fsutil"
	"github.com/kdbench/kdbench/internal/k8sbin"
)

// The process control plane (--control-plane processes): instead of
// kubeadm, containerd and apt, which need the internet, kdbench's own
// control plane runs on the control-plane host as processes (embedded etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler: the local
// cluster's components and flags, listening on the host's LAN address), and
// one kdbench node agent per worker host serves its share of the simulated
// nodes. Everything is uploaded over SSH, so no node needs the internet.
//
// Each component is started by a step, detached (setsid) with a pid file,
// and checked by its pid and its health endpoint. When internal/supervisor's
// SSH placer lands, startStep's apply is where it takes over.

// Control-plane modes.
const (
	ControlPlaneKubeadm   = "kubeadm"
	ControlPlaneProcesses = existing.ControlPlaneProcesses // as hosts files record it
)

// Paths on the nodes.
const (
	procRoot    = "/opt/kdbench/cluster"
	procRun     = procRoot + "/run"
	procK8sBin  = "/opt/kdbench/k8s/bin"
	procKdbench = "/usr/local/bin/kdbench"
)

// knativeNetns sets ns to real Knative's controller's network namespace on
// the control-plane host (baselines/knative/serving.ControllerNetns, named
// after the host's own namespace).
const knativeNetns = `ns=kdbench-kn-controller-$(stat -L -c %i /proc/self/ns/net)`

// processPlan builds the steps of the process control plane. The hosts'
// files (certificates, kubeconfigs, scheduler configuration) are made once
// under dir (the cluster work dir's "hosts"), with the admin kubeconfig at
// adminKubeconfig; only this machine is written to.
func processPlan(inv Inventory, spec clusters.Spec, binary, k8sBinDir, dir, adminKubeconfig string) (*Plan, error) {
	hp, err := hostPlan(inv, spec)
	if err != nil {
		return nil, err
	}
	binSum, err := fileSHA256(binary)
	if err != nil {
		return nil, fmt.Errorf("kdbench binary for the nodes: %w", err)
	}
	cpBundle, agentBundle, err := writeHostFiles(hp, dir, adminKubeconfig)
	if err != nil {
		return nil, err
	}
	p := &Plan{Inventory: inv, QPSProfile: hp.QPSProfile, ControlPlane: ControlPlaneProcesses, Nodes: hp.Nodes, SandboxDelay: hp.SandboxDelay}
	p.Steps = append(p.Steps, uploadStep("kdbench-binary", allRoles, binary, binSum, procKdbench))
	for _, name := range k8sbin.Names {
		path := filepath.Join(k8sBinDir, name)
		sum, err := fileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("%w (build the Kubernetes binaries with `make k8s` or pass --bin-dir)", err)
		}
		p.Steps = append(p.Steps, uploadStep(name+"-binary", cpOnly, path, sum, filepath.Join(procK8sBin, name)))
	}
	for _, b := range []struct {
		name, path string
		roles      []Role
	}{{"cluster-files", cpBundle, cpOnly}, {"agent-files", agentBundle, workers}} {
		sum, err := fileSHA256(b.path)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, bundleStep(b.name, b.roles, b.path, sum))
	}
	cp, err := hp.ControlPlaneProcesses()
	if err != nil {
		return nil, err
	}
	for _, c := range cp {
		if c.Name == "kube-controller-manager" {
			p.Steps = append(p.Steps, grantStep(hp))
		}
		p.Steps = append(p.Steps, startStep(c, hp, PhaseControlPlane, cpOnly, ""))
	}
	i := 0
	for _, n := range inv.Nodes {
		if n.Role != RoleWorker {
			continue
		}
		agent, err := hp.NodeAgentProcess(i, n.Name)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, startStep(agent, hp, PhaseJoin, workers, n.Name))
		i++
	}
	return p, nil
}

// hostPlan places the local cluster's components on the inventory's hosts.
func hostPlan(inv Inventory, spec clusters.Spec) (local.HostPlan, error) {
	hp := local.HostPlan{Name: spec.Name, Root: procRoot, BinDir: procK8sBin, Self: procKdbench,
		ControlPlane: inv.ControlPlane().IP, Nodes: spec.Nodes, QPSProfile: spec.QPSProfile, SandboxDelay: spec.SandboxDelay}
	if hp.QPSProfile == "" {
		hp.QPSProfile = "default"
	}
	for _, n := range inv.Nodes {
		if n.Role == RoleWorker {
			hp.Workers = append(hp.Workers, n.IP)
		}
	}
	if hp.Nodes == 0 {
		hp.Nodes = len(hp.Workers)
	}
	_, err := hp.ControlPlaneProcesses() // validates
	return hp, err
}

// writeHostFiles writes the hosts' files under dir once (a later up
// reuses them, so running components keep matching certificates) and packs
// them: everything for the control plane, the node agent's kubeconfig and
// the CA for the workers.
func writeHostFiles(hp local.HostPlan, dir, adminKubeconfig string) (cpBundle, agentBundle string, err error) {
	tree := filepath.Join(dir, "tree")
	key := filepath.Join(dir, "made-for")
	want := fmt.Sprintf("name=%s cp=%s profile=%s root=%s\n", hp.Name, hp.ControlPlane, hp.QPSProfile, hp.Root)
	cpBundle, agentBundle = filepath.Join(dir, "cluster-files.tar.gz"), filepath.Join(dir, "agent-files.tar.gz")
	if got, err := os.ReadFile(key); err == nil && string(got) == want {
		if _, err := os.Stat(adminKubeconfig); err == nil {
			return cpBundle, agentBundle, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", "", err
	}
	if err := hp.WriteFiles(tree, adminKubeconfig); err != nil {
		return "", "", fmt.Errorf("files for the hosts: %w", err)
	}
	if err := packTree(cpBundle, tree, nil); err != nil {
		return "", "", err
	}
	agentFiles := map[string]bool{"kubeconfigs/nodeagent.kubeconfig": true, "pki/ca.crt": true}
	if err := packTree(agentBundle, tree, agentFiles); err != nil {
		return "", "", err
	}
	// The cluster CA (an EC key kdbench made) beside the admin kubeconfig,
	// as the local provider keeps it: kd issues its link certificates from
	// it.
	for _, f := range []string{"ca.crt", "ca.key"} {
		data, err := os.ReadFile(filepath.Join(tree, "pki", f))
		if err != nil {
			return "", "", err
		}
		if err := os.MkdirAll(filepath.Join(filepath.Dir(adminKubeconfig), "pki"), 0o700); err != nil {
			return "", "", err
		}
		if err := fsutil.WriteFileAtomic(filepath.Join(filepath.Dir(adminKubeconfig), "pki", f), data, 0o600); err != nil {
			return "", "", err
		}
	}
	return cpBundle, agentBundle, fsutil.WriteFileAtomic(key, []byte(want), 0o644)
}

// packTree writes a gzipped tar of root's files (only those in keep, if
// set), with fixed times so that the same files give the same sum.
func packTree(out, root string, keep map[string]bool) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if keep != nil && !keep[rel] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), Size: info.Size(), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return fmt.Errorf("packing %s: %w", out, err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// uploadStep installs a local file at dest on the nodes, by its sum.
func uploadStep(name string, roles []Role, local, sum, dest string) Step {
	tmp := filepath.Join(filepath.Dir(dest), ".kdbench-upload."+filepath.Base(dest))
	return Step{
		Name: name, Phase: PhasePrepare, Roles: roles, Timeout: 15 * time.Minute, Retries: 2,
		Upload: &Upload{Local: local, SHA256: sum},
		Check:  `echo "` + sum + `  ` + dest + `" | sha256sum -c --status`,
		Apply: `mkdir -p ` + filepath.Dir(dest) + `
cat > ` + tmp + `
chmod 755 ` + tmp + `
mv -f ` + tmp + ` ` + dest,
	}
}

// bundleStep unpacks a tarball of the hosts' files into procRoot.
func bundleStep(name string, roles []Role, local, sum string) Step {
	mark := procRoot + "/." + name + ".sha256"
	return Step{
		Name: name, Phase: PhasePrepare, Roles: roles, Timeout: 5 * time.Minute, Retries: 2,
		Upload: &Upload{Local: local, SHA256: sum},
		Check:  `test "$(cat ` + mark + ` 2>/dev/null)" = ` + sum,
		Apply: `mkdir -p ` + procRoot + `
umask 077
tar -xzf - -C ` + procRoot + `
echo ` + sum + ` > ` + mark,
	}
}

// health is a shell test that pr answers on its health endpoint.
func health(pr local.Process, hp local.HostPlan) string {
	curl := "curl -fsS -o /dev/null --max-time 5"
	switch pr.HealthAuth {
	case "insecure":
		curl += " -k"
	case "admin":
		pki := hp.PKI()
		curl += " --cacert " + pki + "/ca.crt --cert " + pki + "/admin.crt --key " + pki + "/admin.key"
	}
	return curl + " " + shellQuote(pr.HealthURL)
}

// startStep starts pr detached on the nodes of roles (or on node only) and
// waits for its health endpoint. Its check is the recorded pid running pr's
// binary and answering; a dead or unhealthy one is stopped and started anew.
func startStep(pr local.Process, hp local.HostPlan, ph Phase, roles []Role, node string) Step {
	pidFile := procRun + "/" + pr.Name + ".pid"
	alive := `pid=$(cat ` + pidFile + ` 2>/dev/null) && test "$(readlink /proc/$pid/exe)" = ` + pr.Path
	argv := make([]string, 0, len(pr.Args)+1)
	argv = append(argv, pr.Path)
	for _, a := range pr.Args {
		argv = append(argv, shellQuote(a))
	}
	return Step{
		Name: pr.Name, Phase: ph, Roles: roles, Node: node, Timeout: 3 * time.Minute, Retries: 1,
		Check: alive + ` && ` + health(pr, hp),
		Apply: `mkdir -p ` + procRun + ` ` + filepath.Dir(pr.Log) + `
if ` + alive + `; then
  kill "$pid"; for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; kill -9 "$pid" 2>/dev/null || true
fi
echo "=== $(date -u +%FT%TZ) started by kdbench cluster up" >> ` + pr.Log + `
setsid ` + strings.Join(argv, " ") + ` >> ` + pr.Log + ` 2>&1 < /dev/null &
echo $! > ` + pidFile + `
` + healthWait(pr, hp, "during start-up"),
	}
}

// healthWait is the shell that waits up to 120 s for pr, started as $!,
// to answer on its health endpoint, and fails with its log's tail if it
// exits (when: "during start-up") or does not answer.
func healthWait(pr local.Process, hp local.HostPlan, when string) string {
	return `for i in $(seq 240); do
  if ` + health(pr, hp) + ` 2>/dev/null; then exit 0; fi
  if ! kill -0 $! 2>/dev/null; then echo "` + pr.Name + ` exited ` + when + `; ` + pr.Log + `:"; tail -n 20 ` + pr.Log + `; exit 1; fi
  sleep 0.5
done
echo "` + pr.Name + ` does not answer at ` + pr.HealthURL + ` 120s after it started (` + when + `); ` + pr.Log + `:"; tail -n 20 ` + pr.Log + `
exit 1`
}

// grantStep binds the node agents' user to system:node before the
// controllers and agents start.
func grantStep(hp local.HostPlan) Step {
	url := hp.APIServerURL() + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kdbench:node-agent"
	return Step{
		Name: "grant-node-agent", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute, Retries: 2,
		Check: health(local.Process{HealthURL: url, HealthAuth: "admin"}, hp),
		Apply: procKdbench + ` internal grant-node-agent --kubeconfig ` + hp.AdminKubeconfigOnHosts(),
	}
}

// processResetSteps stop every component (the agents first) and remove
// what the process control plane put on the nodes, and what real Knative
// left there if its harness was killed before its tear-down
// (baselines/knative: the controller's network namespace and veth, the
// pod routes of protocol 176).
func processResetSteps() []Step {
	stop := `for f in ` + procRun + `/*.pid; do
  test -e "$f" || continue
  pid=$(cat "$f"); kill "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
done
` + knativeNetns + `
if [ -e "/run/netns/$ns" ]; then
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$ns" || true
fi
ip link delete kn-controller 2>/dev/null || true
ip route flush table local proto 176 2>/dev/null || true
ip route flush proto 176 2>/dev/null || true
rm -rf /opt/kdbench ` + procKdbench
	check := `! test -e /opt/kdbench -o -e ` + procKdbench
	return []Step{
		{Name: "reset", Phase: PhasePrepare, Roles: workers, Timeout: 2 * time.Minute, Retries: 1, Check: check, Apply: stop},
		{Name: "reset", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: 2 * time.Minute, Retries: 1, Check: check, Apply: stop},
	}
}
