package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// component is one process of the cluster and how to tell it is healthy.
type component struct {
	Name string
	Path string
	Args []string
	Log  string
	// URL is the health endpoint Healthy polls (for hosts that poll it
	// with curl).
	URL string
	// Healthy returns nil once the component, process pid, serves; it is
	// polled.
	Healthy func(ctx context.Context, pid int) error
}

// proc is a started component. cmd is nil when the process was started by
// another kdbench invocation (read back from state.json).
type proc struct {
	Name string   `json:"name"`
	PID  int      `json:"pid"`
	Log  string   `json:"log"`
	Args []string `json:"args"`
	// StartTicks is the process's start time in clock ticks since boot
	// (/proc/<pid>/stat field 22): with the pid, it identifies the process
	// even after the pid is recycled.
	StartTicks uint64 `json:"startTicks"`
	cmd        *exec.Cmd
	done       chan struct{} // closed when cmd.Wait returns
	err        error         // cmd.Wait's result, valid after done
}

// startProcess starts c in its own process group, so that a terminal's Ctrl-C
// reaches only kdbench (which then stops the group) and so that stopping the
// group also reaches any children the component forks. With attached set, the
// kernel kills the process if kdbench itself dies, even by SIGKILL.
func startProcess(c component, attached bool) (*proc, error) {
	if _, err := os.Stat(c.Path); err != nil {
		return nil, fmt.Errorf("%s: binary %s: %w", c.Name, c.Path, err)
	}
	logf, err := os.OpenFile(c.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: opening log: %w", c.Name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if attached {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	fmt.Fprintf(logf, "==== kdbench starting %s at %s: %s %s\n", c.Name, time.Now().Format(time.RFC3339Nano), c.Path, strings.Join(c.Args, " "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", c.Name, c.Path, err)
	}
	p := &proc{Name: c.Name, PID: cmd.Process.Pid, Log: c.Log, Args: append([]string{c.Path}, c.Args...), cmd: cmd, done: make(chan struct{})}
	p.StartTicks, _ = startTicks(p.PID)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitHealthy polls c.Healthy until it succeeds, the process exits, or ctx
// ends. Errors name the component and its log, with the log's last lines.
func waitHealthy(ctx context.Context, c component, p *proc, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		last = c.Healthy(hctx, p.PID)
		hcancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up (%v); see %s:\n%s", c.Name, p.err, c.Log, logTail(c.Log, 15))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s not healthy after %s (last check: %v); see %s:\n%s", c.Name, timeout, last, c.Log, logTail(c.Log, 15))
			}
			return fmt.Errorf("%s: start-up interrupted: %w", c.Name, ctx.Err())
		case <-tick.C:
		}
	}
}

// alive reports whether p still runs and is the process we started: pids are
// recycled, so a pid read back from state.json must still have our start time.
func (p *proc) alive() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	return pidMatches(p.PID, p.StartTicks)
}

func pidMatches(pid int, ticks uint64) bool {
	if pid <= 0 || ticks == 0 {
		return false
	}
	got, err := startTicks(pid)
	return err == nil && got == ticks && !zombie(pid)
}

// procStat returns the fields of /proc/<pid>/stat after the command name
// (which is parenthesised and may hold spaces): [0] is the state.
func procStat(pid int) ([]string, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strings.Fields(string(stat[i+1:])), nil
}

func startTicks(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 overall
}

func zombie(pid int) bool {
	f, err := procStat(pid)
	return err != nil || len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// stop sends SIGTERM to p's process group, waits up to grace, then SIGKILLs
// the group. It returns once the process is gone.
func (p *proc) stop(grace time.Duration) {
	if !p.alive() {
		// The leader may be gone while children of its group survive.
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	if p.waitGone(grace) {
		_ = syscall.Kill(-p.PID, syscall.SIGKILL) // stragglers in the group
		return
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	p.waitGone(5 * time.Second)
}

func (p *proc) waitGone(d time.Duration) bool {
	deadline := time.After(d)
	if p.done != nil {
		select {
		case <-p.done:
			return true
		case <-deadline:
			return false
		}
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if !pidMatches(p.PID, p.StartTicks) {
			return true
		}
		select {
		case <-deadline:
			return false
		case <-t.C:
		}
	}
}

// logTail returns the last n lines of a log file, indented, for error messages.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
