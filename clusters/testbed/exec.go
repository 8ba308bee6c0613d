package testbed

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// The testbed's processes go through the one supervisor: short commands
// (ip) run to completion, and each host's sshd as a daemon.

// run executes a short command and returns its combined output; the error
// names the step, the command line and what it printed.
func run(ctx context.Context, step string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := supervisor.Output(ctx, supervisor.Command{Path: argv[0], Args: argv[1:]})
	if err != nil {
		return string(out), fmt.Errorf("testbed: %s: %w", step, err)
	}
	return string(out), nil
}

// startDaemon starts argv inside network namespace ns in its own process
// group, its output appended to logPath, and returns it without waiting.
// `ip netns exec` execs argv, so the process is argv itself. It is not
// attached: a testbed brought up by `kdbench internal testbed up` outlives
// that command, and Down stops every process of its namespaces.
func startDaemon(ns string, argv []string, logPath string) (*supervisor.Process, error) {
	p, err := supervisor.Start(supervisor.Spec{Name: argv[0] + " in namespace " + ns, Path: "ip",
		Args: append([]string{"netns", "exec", ns}, argv...), Log: logPath})
	if err != nil {
		return nil, fmt.Errorf("testbed: starting `%s` in namespace %s: %w", strings.Join(argv, " "), ns, err)
	}
	return p, nil
}

// Command returns argv to run inside host's namespace, as if on that host
// (e.g. kdbench run from the control-plane host); for tests and the e2e
// driver, which run it to completion.
// When ctx ends, or the calling process dies however it dies, the command
// gets SIGTERM (a kdbench run then stops what it started and keeps what it
// measured), and SIGKILL 30 s later if it has not exited: `ip netns exec`
// execs argv, so the signals reach argv itself.
func (tb *Testbed) Command(ctx context.Context, host string, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", tb.Namespace(host)}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}
