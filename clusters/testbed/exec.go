package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// The one place where the testbed starts processes: short commands (ip) run
// to completion, and each host's sshd as a daemon. internal/supervisor will
// take this job over; keeping it here keeps the swap to one file.

// run executes a short command and returns its combined output; the error
// names the step, the command line and what it printed.
func run(ctx context.Context, step string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("testbed: %s: `%s`: %v\n  output: %s", step, strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// startDaemon starts argv inside network namespace ns in its own process
// group, its output appended to logPath, and returns it without waiting.
// `ip netns exec` execs argv, so the process is argv itself.
func startDaemon(ns string, argv []string, logPath string) (*os.Process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: starting `%s` in namespace %s: %w", strings.Join(argv, " "), ns, err)
	}
	// Reap it when it exits so that it leaves no zombie behind.
	go func() { _ = cmd.Wait() }()
	return cmd.Process, nil
}

// Command returns argv to run inside host's namespace, as if on that host
// (e.g. kdbench run from the control-plane host).
func (tb *Testbed) Command(ctx context.Context, host string, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", tb.Namespace(host)}, argv...)...)
}
