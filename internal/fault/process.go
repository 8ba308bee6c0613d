package fault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Crash kills a process group with SIGKILL (a crash: no goodbye on its
// links, no cleanup) and, on Recover, starts it again through its supervisor.
type Crash struct {
	Target string
	// PID is the group leader's pid now (it changes with every restart).
	PID func() int
	// Start starts the process again and returns once it runs.
	Start func(ctx context.Context) error
}

func (c *Crash) String() string { return "crash " + c.Target }

// Inject kills the group and waits until its leader is gone.
func (c *Crash) Inject(ctx context.Context) error {
	pid, err := leader(c.PID)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Target, err)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: kill process group %d: %w", c.Target, pid, err)
	}
	return waitGone(ctx, pid)
}

// Recover starts the process again.
func (c *Crash) Recover(ctx context.Context) error {
	if c.Start == nil {
		return fmt.Errorf("%s: no way to start it again", c.Target)
	}
	return c.Start(ctx)
}

// Stall stops a process group (SIGSTOP) and resumes it (SIGCONT): the
// process holds its connections but answers nothing, like a node agent
// starved of CPU or swapped out.
type Stall struct {
	Target string
	PID    func() int
}

func (s *Stall) String() string { return "stall " + s.Target }

// Inject stops the group and returns once its leader is stopped.
func (s *Stall) Inject(ctx context.Context) error {
	return s.signal(ctx, syscall.SIGSTOP, func(state byte) bool { return state == 'T' || state == 't' })
}

// Recover resumes the group and returns once its leader runs again.
func (s *Stall) Recover(ctx context.Context) error {
	return s.signal(ctx, syscall.SIGCONT, func(state byte) bool { return state != 'T' && state != 't' })
}

func (s *Stall) signal(ctx context.Context, sig syscall.Signal, done func(state byte) bool) error {
	pid, err := leader(s.PID)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Target, err)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("%s: %v to process group %d: %w", s.Target, sig, pid, err)
	}
	return poll(ctx, func() (bool, error) {
		st, err := procState(pid)
		if err != nil {
			return false, fmt.Errorf("%s: %w", s.Target, err)
		}
		return done(st), nil
	})
}

func leader(pid func() int) (int, error) {
	if pid == nil {
		return 0, errors.New("no pid")
	}
	p := pid()
	if p <= 1 {
		return 0, fmt.Errorf("not running (pid %d)", p)
	}
	return p, nil
}

// waitGone waits until pid has exited (a zombie counts: its parent reaps it).
func waitGone(ctx context.Context, pid int) error {
	return poll(ctx, func() (bool, error) {
		st, err := procState(pid)
		return err != nil || st == 'Z' || st == 'X', nil
	})
}

// procState is the state letter of /proc/<pid>/stat (R, S, T, Z, ...).
func procState(pid int) (byte, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name is parenthesised and may hold spaces and ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return stat[i+2], nil
}

func poll(ctx context.Context, done func() (bool, error)) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
