package cloudlab

import (
	"context"
	"fmt"
	"strings"
	"syscall"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
)

var _ clusters.Crasher = (*Reconfigurer)(nil)

// CrashRefusal: only a process control plane's components are kdbench's to
// crash and stall (its Reconfigurer is the cluster's Crasher). The mode is
// --control-plane if given, else the one the cluster's last up recorded
// (`kdbench run` has no --control-plane flag).
func (p *Provider) CrashRefusal(spec clusters.Spec) string {
	name := spec.Name
	if name == "" {
		name = defaultClusterName
	}
	mode := p.opts.ControlPlane
	if d, err := p.workDir(name); err == nil {
		mode = p.controlPlane(d)
	}
	if mode == ControlPlaneProcesses {
		return ""
	}
	return "kubeadm's control plane runs as static pods under kubelet, and the workers run kubelets (use --control-plane processes)"
}

// Crash implements clusters.Crasher for the process control plane: the
// component's process group (it runs under setsid) gets SIGKILL, and the
// command line it ran with, read from /proc before the kill, starts again
// in the same directory under a new pid file, so a reconfigured component
// (a node agent in direct mode) comes back reconfigured.
func (r *Reconfigurer) Crash(ctx context.Context, h clusters.Host, component string) error {
	pr, cn, err := r.reach(ctx, h, component)
	if err != nil {
		return fmt.Errorf("crash %s on %s: %w", component, h.Name, err)
	}
	var tail tailBuffer
	tail.max = 20
	if err := cn.run(ctx, remoteScript, strings.NewReader(crashScript(pr, r.hp, procRun)), &tail, &tail); err != nil {
		return fmt.Errorf("crash %s on %s: %w:\n    %s", component, h.Name, err, strings.ReplaceAll(tail.String(), "\n", "\n    "))
	}
	return nil
}

// Signal implements clusters.Crasher: sig to the component's process group,
// returning once a SIGSTOP has stopped it or a SIGCONT resumed it.
func (r *Reconfigurer) Signal(ctx context.Context, h clusters.Host, component string, sig syscall.Signal) error {
	pr, cn, err := r.reach(ctx, h, component)
	if err != nil {
		return fmt.Errorf("%v to %s on %s: %w", sig, component, h.Name, err)
	}
	var tail tailBuffer
	tail.max = 20
	if err := cn.run(ctx, remoteScript, strings.NewReader(signalScript(pr, sig, procRun)), &tail, &tail); err != nil {
		return fmt.Errorf("%v to %s on %s: %w: %s", sig, component, h.Name, err, strings.TrimSpace(tail.String()))
	}
	return nil
}

// reach finds component on h and a connection to h.
func (r *Reconfigurer) reach(ctx context.Context, h clusters.Host, component string) (local.Process, conn, error) {
	pr, err := r.process(h, component)
	if err != nil {
		return pr, nil, err
	}
	n, err := r.p.node(h)
	if err != nil {
		return pr, nil, err
	}
	cn, err := r.p.conn(ctx, n)
	return pr, cn, err
}

// runningPID is the shell that sets pid to pr's running process (its pid
// file in run) or fails naming that file.
func runningPID(pr local.Process, run string) string {
	pidFile := run + "/" + pr.Name + ".pid"
	return `pid=$(cat ` + pidFile + ` 2>/dev/null) && test "$(readlink /proc/$pid/exe)" = ` + shellQuote(pr.Path) + ` || { echo "` + pr.Name + ` is not running (pid file ` + pidFile + `); its log: ` + pr.Log + `"; exit 1; }
`
}

// crashScript crashes and restarts pr, whose pid file is in run.
func crashScript(pr local.Process, hp local.HostPlan, run string) string {
	pidFile := run + "/" + pr.Name + ".pid"
	return `set -euo pipefail
` + runningPID(pr, run) + `cwd=$(readlink /proc/$pid/cwd)
mapfile -d '' argv < /proc/$pid/cmdline
kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid"
for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then echo "` + pr.Name + ` (pid $pid) survived SIGKILL for 10s"; exit 1; fi
cd "$cwd"
echo "=== $(date -u +%FT%TZ) crashed (SIGKILL) by kdbench failover; started again" >> ` + pr.Log + `
setsid "${argv[@]}" >> ` + pr.Log + ` 2>&1 < /dev/null &
echo $! > ` + pidFile + `
` + healthWait(pr, hp, "after its restart") + `
`
}

// signalScript signals pr, whose pid file is in run.
func signalScript(pr local.Process, sig syscall.Signal, run string) string {
	want := ""
	switch sig {
	case syscall.SIGSTOP:
		want = `[ "$st" = T ]`
	case syscall.SIGCONT:
		want = `[ "$st" != T ]`
	}
	s := `set -euo pipefail
` + runningPID(pr, run) + fmt.Sprintf("kill -%d -- -\"$pid\" 2>/dev/null || kill -%d \"$pid\"\n", int(sig), int(sig))
	if want != "" {
		s += `for i in $(seq 200); do st=$(sed 's/^.*) //' /proc/$pid/stat | cut -c1); if ` + want + `; then exit 0; fi; sleep 0.01; done
echo "` + pr.Name + ` (pid $pid) in state $st 2s after the signal"; exit 1
`
	}
	return s
}
