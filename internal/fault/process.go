package fault

import (
	"context"
	"fmt"
	"syscall"
)

// Signal delivers a signal to a supervised process's group wherever it
// runs and returns once it took effect (supervisor.SignalGroup): a local
// process's Signal, or a remote one's through its supervisor's lifeline.
type Signal func(ctx context.Context, sig syscall.Signal) error

// Crash kills a process group with SIGKILL (a crash: no goodbye on its
// links, no cleanup) and, on Recover, starts it again through its supervisor.
type Crash struct {
	Target string
	Signal Signal
	// Start starts the process again and returns once it runs.
	Start func(ctx context.Context) error
}

func (c *Crash) String() string { return "crash " + c.Target }

// Inject kills the group and returns once its leader is gone.
func (c *Crash) Inject(ctx context.Context) error {
	return signal(ctx, c.Target, c.Signal, syscall.SIGKILL)
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
	Signal Signal
}

func (s *Stall) String() string { return "stall " + s.Target }

// Inject stops the group and returns once its leader is stopped.
func (s *Stall) Inject(ctx context.Context) error {
	return signal(ctx, s.Target, s.Signal, syscall.SIGSTOP)
}

// Recover resumes the group and returns once its leader runs again.
func (s *Stall) Recover(ctx context.Context) error {
	return signal(ctx, s.Target, s.Signal, syscall.SIGCONT)
}

func signal(ctx context.Context, target string, f Signal, sig syscall.Signal) error {
	if f == nil {
		return fmt.Errorf("%s: no process to signal", target)
	}
	if err := f(ctx, sig); err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	return nil
}
