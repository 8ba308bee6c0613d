package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Spec is a process to start.
type Spec struct {
	// Name names the process in its log banner and in every error.
	Name string
	Path string
	Args []string
	// Log is the file stdout and stderr append to.
	Log string
	// Dir is the working directory ("" = kdbench's).
	Dir string
	// Attached has the kernel kill the process when kdbench dies, even by
	// SIGKILL (Pdeathsig): for everything but a cluster that should outlive
	// `kdbench cluster up`.
	Attached bool
}

// Process is a started process, or one read back from a state file (then
// kdbench is not its parent: cmd is nil and liveness comes from /proc).
type Process struct {
	Name string   `json:"name"`
	PID  int      `json:"pid"`
	Log  string   `json:"log"`
	Args []string `json:"args"` // the path first
	// StartTicks identifies the process beside its pid (StartTicks()).
	StartTicks uint64 `json:"startTicks"`

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returns
	err  error         // cmd.Wait's result, valid after done
}

// Start starts s in its own process group, with a start banner in its log.
func Start(s Spec) (*Process, error) {
	if strings.ContainsRune(s.Path, '/') {
		if _, err := os.Stat(s.Path); err != nil {
			return nil, fmt.Errorf("%s: binary %s: %w", s.Name, s.Path, err)
		}
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: opening log: %w", s.Name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.Attached {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	fmt.Fprintf(logf, "==== kdbench starting %s at %s: %s %s\n", s.Name, time.Now().Format(time.RFC3339Nano), s.Path, strings.Join(s.Args, " "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", s.Name, s.Path, err)
	}
	p := &Process{Name: s.Name, PID: cmd.Process.Pid, Log: s.Log, Args: append([]string{s.Path}, s.Args...),
		cmd: cmd, done: make(chan struct{})}
	p.StartTicks, _ = StartTicks(p.PID)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Alive reports whether p still runs and is the process started: pids are
// recycled, so a pid read back from a state file must keep its start time.
func (p *Process) Alive() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	return Matches(p.PID, p.StartTicks)
}

// Attached reports whether kdbench started p (and so knows when it exits).
func (p *Process) Attached() bool { return p.done != nil }

// Done is closed when a process kdbench started exits (nil for one read
// back from a state file).
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process ended, once Done is closed.
func (p *Process) Err() error {
	if p.done == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Signal sends sig to p's group and returns once it took effect (SignalGroup).
func (p *Process) Signal(ctx context.Context, sig syscall.Signal) error {
	if !p.Alive() {
		return fmt.Errorf("%s: %v: not running (pid %d); see %s", p.Name, sig, p.PID, p.Log)
	}
	if err := SignalGroup(ctx, p.PID, sig); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	if sig == syscall.SIGKILL && p.done != nil {
		select { // reaped, so Alive is false from here on
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Stop sends SIGTERM to p's group, waits up to grace, then SIGKILLs the
// group (stragglers too). It returns once the process is gone.
func (p *Process) Stop(grace time.Duration) {
	if !p.Alive() {
		// The leader may be gone while children of its group survive.
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		return
	}
	if grace > 0 {
		_ = syscall.Kill(-p.PID, syscall.SIGCONT) // a stalled process cannot act on SIGTERM
		_ = syscall.Kill(-p.PID, syscall.SIGTERM)
		p.WaitGone(grace)
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	p.WaitGone(10 * time.Second)
}

// WaitGone waits up to d for p to exit and reports whether it did.
func (p *Process) WaitGone(d time.Duration) bool {
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
	for Matches(p.PID, p.StartTicks) {
		select {
		case <-deadline:
			return false
		case <-t.C:
		}
	}
	return true
}

// LogTail is the last n lines of p's log (LogTail).
func (p *Process) LogTail(n int) string { return LogTail(p.Log, n) }

// ExitError describes p's exit for an error message: how it ended, the
// log to read and its tail.
func (p *Process) ExitError(what string) error {
	return fmt.Errorf("%s %s (%v); see %s:\n%s", p.Name, what, p.Err(), p.Log, p.LogTail(15))
}

// Command is a short-lived tool run to completion (tar, go build): not
// supervised, but started here too, so that every process kdbench starts
// comes from this package.
type Command struct {
	Path  string
	Args  []string
	Dir   string
	Stdin io.Reader
	// Stdout, when set, receives stdout and stderr as they come instead
	// of Output's result.
	Stdout io.Writer
}

// Output runs c and returns its combined stdout and stderr; the error
// names the command and quotes what it printed.
func Output(ctx context.Context, c Command) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir, cmd.Stdin = c.Dir, c.Stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if c.Stdout != nil {
		cmd.Stdout, cmd.Stderr = c.Stdout, c.Stdout
	}
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", c.Path, strings.Join(c.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// LookPath finds an executable in $PATH.
func LookPath(name string) (string, error) { return exec.LookPath(name) }
