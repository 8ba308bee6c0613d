package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stat returns the fields of /proc/<pid>/stat after the command name
// (which is parenthesised and may hold spaces and ')'): [0] is the state.
func stat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) == 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return f, nil
}

// State is the state letter of /proc/<pid>/stat (R, S, T, Z, ...).
func State(pid int) (byte, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	return f[0][0], nil
}

// StartTicks is pid's start time in clock ticks since boot (field 22 of
// /proc/<pid>/stat): with the pid, it names one process for good.
func StartTicks(pid int) (uint64, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 20 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// Gone reports whether pid has exited (a zombie counts: its parent reaps it).
func Gone(pid int) bool {
	st, err := State(pid)
	return err != nil || st == 'Z' || st == 'X'
}

// Matches reports whether pid runs and is the process that started at ticks.
func Matches(pid int, ticks uint64) bool {
	if pid <= 0 || ticks == 0 {
		return false
	}
	got, err := StartTicks(pid)
	return err == nil && got == ticks && !Gone(pid)
}

// SignalGroup sends sig to the process group led by pid and returns once
// it took effect on the leader: SIGKILL (a crash: no goodbye, no cleanup)
// once the leader is gone, SIGSTOP (a stall: connections held, nothing
// answered) once it is stopped, SIGCONT once it runs again. Other signals
// return once sent.
func SignalGroup(ctx context.Context, pid int, sig syscall.Signal) error {
	if pid <= 1 {
		return fmt.Errorf("not running (pid %d)", pid)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("%v to process group %d: %w", sig, pid, err)
	}
	stopped := func() bool { st, err := State(pid); return err == nil && (st == 'T' || st == 't') }
	// A stop or resume is sent again while it has not taken effect: a
	// SIGCONT from elsewhere (a stale one to a recycled process group id on
	// a busy machine) must not leave a stall unapplied. Both are
	// idempotent.
	again := func() { _ = syscall.Kill(-pid, sig) }
	switch sig {
	case syscall.SIGKILL:
		return poll(ctx, func() bool { return Gone(pid) }, nil)
	case syscall.SIGSTOP:
		return poll(ctx, func() bool { return stopped() || Gone(pid) }, again)
	case syscall.SIGCONT:
		return poll(ctx, func() bool { return !stopped() }, again)
	}
	return nil
}

// poll waits for done, checking every 5 ms and calling again (if set)
// every 100 ms while it is not.
func poll(ctx context.Context, done func() bool, again func()) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for i := 1; !done(); i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if again != nil && i%20 == 0 {
			again()
		}
	}
	return nil
}

// ProcessGroup is pid's process group id.
func ProcessGroup(pid int) (int, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 3 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return strconv.Atoi(f[2])
}
