package cloudlab

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
)

// Reconfigurer restarts a component of the process control plane
// (--control-plane processes) on its host with other flags, over the
// placer's SSH connections: the controller-manager (and the other
// control-plane components) on the control-plane host, "nodeagent" on each
// worker host. kd-family systems run the controller-manager without its
// deployment and replicaset controllers and every worker's agent in
// Kubedirect's direct mode this way (docs/placement.md).
//
// The components were started by `cluster up`'s detached steps, each with a
// pid file (processes.go). The first Reconfigure of a component saves the
// command line it runs with (/proc/<pid>/cmdline) beside its pid file, so
// that every later one, and the restore (nil extra), starts from the flags
// `cluster up` gave it, even after a harness that died mid-run; the restore
// removes the saved line and the component's files. The restart is
// startStep's: SIGTERM, then a detached start with a new pid file, and
// success once its health endpoint answers, so `cluster up` and `cluster
// down` keep finding it.
type Reconfigurer struct {
	p *Placer
	// hp gives each component's log and health endpoint (which depend only
	// on the hosts' addresses, not on the node count or profile).
	hp local.HostPlan
}

// NewReconfigurer reconfigures the components hp places on p's hosts.
func NewReconfigurer(p *Placer, hp local.HostPlan) *Reconfigurer {
	return &Reconfigurer{p: p, hp: hp}
}

// componentDir is where a reconfigured component's files are, and its
// working directory.
func componentDir(component string) string { return procRoot + "/components/" + component }

// process is component as `cluster up` made it on host h.
func (r *Reconfigurer) process(h clusters.Host, component string) (local.Process, error) {
	if h.Has(clusters.RoleControlPlane) {
		cp, err := r.hp.ControlPlaneProcesses()
		if err != nil {
			return local.Process{}, err
		}
		for _, pr := range cp {
			if pr.Name == component {
				return pr, nil
			}
		}
	}
	i := 0
	for _, n := range r.p.inv.Nodes {
		if n.Role != RoleWorker {
			continue
		}
		if n.Name == h.Name {
			pr, err := r.hp.NodeAgentProcess(i, n.Name)
			if err != nil || pr.Name == component {
				return pr, err
			}
		}
		i++
	}
	return local.Process{}, fmt.Errorf("no component %q on host %s (the control-plane host runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler; each worker host a nodeagent)", component, h.Name)
}

// Reconfigure implements clusters.Reconfigurer.
func (r *Reconfigurer) Reconfigure(ctx context.Context, h clusters.Host, component string, extra []string, files []clusters.File) error {
	fail := func(err error) error { return fmt.Errorf("reconfigure %s on %s: %w", component, h.Name, err) }
	pr, err := r.process(h, component)
	if err != nil {
		return fail(err)
	}
	n, err := r.p.node(h)
	if err != nil {
		return fail(err)
	}
	cn, err := r.p.conn(ctx, n)
	if err != nil {
		return fail(err)
	}
	var out, stderr bytes.Buffer
	if err := cn.run(ctx, remoteScript, strings.NewReader(savedArgvScript(pr)), &out, &stderr); err != nil {
		return fail(fmt.Errorf("reading its command line: %w: %s", err, strings.TrimSpace(stderr.String())))
	}
	argv := strings.Split(strings.TrimRight(out.String(), "\x00"), "\x00")
	if len(argv) == 0 || argv[0] != pr.Path {
		return fail(fmt.Errorf("its saved command line %q does not run %s", argv, pr.Path))
	}
	script, err := restartScript(pr, r.hp, argv[1:], extra, files)
	if err != nil {
		return fail(err)
	}
	var tail tailBuffer
	tail.max = 20
	if err := cn.run(ctx, remoteScript, strings.NewReader(script), &tail, &tail); err != nil {
		return fail(fmt.Errorf("%w:\n    %s", err, strings.ReplaceAll(tail.String(), "\n", "\n    ")))
	}
	return nil
}

// savedArgv is where a reconfigured component's original command line is
// kept (NUL-separated, as /proc/<pid>/cmdline).
func savedArgv(name string) string { return procRun + "/" + name + ".argv" }

// savedArgvScript prints the component's original command line, saving
// it first from the running process if this is its first reconfiguration.
func savedArgvScript(pr local.Process) string {
	pidFile := procRun + "/" + pr.Name + ".pid"
	saved := savedArgv(pr.Name)
	return `set -euo pipefail
if ! test -s ` + saved + `; then
  pid=$(cat ` + pidFile + ` 2>/dev/null) || { echo "` + pr.Name + ` has no pid file ` + pidFile + ` (was the cluster made by cluster up --control-plane processes?)" >&2; exit 1; }
  test "$(readlink /proc/$pid/exe)" = ` + shellQuote(pr.Path) + ` || { echo "` + pr.Name + ` (pid $pid from ` + pidFile + `) is not running; its log: ` + pr.Log + `" >&2; exit 1; }
  cp /proc/$pid/cmdline ` + saved + `.tmp && mv -f ` + saved + `.tmp ` + saved + `
fi
cat ` + saved + `
`
}

// restartScript writes files into the component's directory and restarts
// it there with args and extra (nil: args as they were, in the run
// directory; the saved command line and the files are removed).
func restartScript(pr local.Process, hp local.HostPlan, args, extra []string, files []clusters.File) (string, error) {
	dir, cwd := componentDir(pr.Name), procRun
	var b strings.Builder
	b.WriteString("set -euo pipefail\nrm -rf " + dir + "\n")
	if extra != nil {
		cwd = dir
		b.WriteString("mkdir -p " + dir + "\nchmod 700 " + dir + "\n")
	}
	for _, f := range files {
		if path.IsAbs(f.Path) || !isLocal(f.Path) {
			return "", fmt.Errorf("file %q: want a path inside the component's directory", f.Path)
		}
		fp := path.Join(dir, f.Path)
		mode := f.Mode
		if mode == 0 {
			mode = 0o600
		}
		fmt.Fprintf(&b, "mkdir -p %s\n(umask 077; base64 -d > %s <<'KDBENCH_EOF'\n%s\nKDBENCH_EOF\n)\nchmod %o %s\n",
			shellQuote(path.Dir(fp)), shellQuote(fp), base64.StdEncoding.EncodeToString(f.Data), mode, shellQuote(fp))
	}
	pr.Args = args
	if extra != nil {
		pr.Args = local.WithFlags(args, extra)
	} else if len(files) > 0 {
		return "", fmt.Errorf("files without flags: a restore takes none")
	}
	// startStep's apply ends with exit: a subshell keeps what follows.
	b.WriteString("(\ncd " + cwd + "\n" + startStep(pr, hp, PhaseControlPlane, nil, "").Apply + "\n)\n")
	if extra == nil {
		b.WriteString("rm -f " + savedArgv(pr.Name) + "\n")
	}
	return b.String(), nil
}

// isLocal is filepath.IsLocal for the hosts' slash-separated paths.
func isLocal(p string) bool {
	c := path.Clean(p)
	return c != "." && c != ".." && !strings.HasPrefix(c, "../")
}
