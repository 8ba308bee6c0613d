package fault

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// child is a process group started like the supervisors start components.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	// grandchild is the pid of a process the leader forked into its group.
	grandchild int
}

// startGroup runs a shell that forks a sleep into its group and waits.
func startGroup(t *testing.T) *child {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sleep 60 & echo $!; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	gc, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{}), grandchild: gc}
	go func() { _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-c.done })
	return c
}

func running(pid int) bool {
	st, err := procState(pid)
	return err == nil && st != 'Z' && st != 'X'
}

func TestCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	cur := startGroup(t)
	first := cur
	c := &Crash{Target: "sleeper",
		PID: func() int { mu.Lock(); defer mu.Unlock(); return cur.cmd.Process.Pid },
		Start: func(context.Context) error {
			n := startGroup(t)
			mu.Lock()
			cur = n
			mu.Unlock()
			return nil
		}}
	if err := c.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.done:
	case <-time.After(5 * time.Second):
		t.Fatal("leader still running after Inject")
	}
	if ws := first.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGKILL {
		t.Errorf("leader ended with %v, want SIGKILL", first.cmd.ProcessState)
	}
	if err := waitGone(ctx, first.grandchild); err != nil || running(first.grandchild) {
		t.Errorf("the group's other process %d survived the crash", first.grandchild)
	}
	if err := c.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if pid := c.PID(); pid == first.cmd.Process.Pid || !running(pid) {
		t.Fatalf("after Recover: pid %d (was %d), running %v", pid, first.cmd.Process.Pid, running(pid))
	}
}

func TestStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := startGroup(t)
	s := &Stall{Target: "sleeper", PID: func() int { return ch.cmd.Process.Pid }}
	if err := s.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := procState(ch.cmd.Process.Pid); st != 'T' {
		t.Errorf("leader in state %c after Inject, want T (stopped)", st)
	}
	// The rest of the group stops too; the signal reaches it asynchronously.
	if err := poll(ctx, func() (bool, error) { st, _ := procState(ch.grandchild); return st == 'T', nil }); err != nil {
		t.Errorf("grandchild not stopped: %v", err)
	}
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	// The grandchild resumes with the group; poll, the signal is asynchronous.
	if err := poll(ctx, func() (bool, error) { st, _ := procState(ch.grandchild); return st != 'T', nil }); err != nil {
		t.Errorf("grandchild still stopped after Recover: %v", err)
	}
	if st, _ := procState(ch.cmd.Process.Pid); st == 'T' {
		t.Error("leader still stopped after Recover")
	}
}

func TestProcessErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"crash of nothing", func() error { return (&Crash{Target: "x", PID: func() int { return 0 }}).Inject(ctx) }, "not running"},
		{"crash without pid", func() error { return (&Crash{Target: "x"}).Inject(ctx) }, "no pid"},
		{"restart without start", func() error { return (&Crash{Target: "x"}).Recover(ctx) }, "no way to start"},
		{"stall of nothing", func() error { return (&Stall{Target: "x", PID: func() int { return -1 }}).Inject(ctx) }, "not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	var calls []string
	f := Funcs{Name: "restart api", InjectFunc: func(context.Context) error { calls = append(calls, "inject"); return nil },
		RecoverFunc: func(ctx context.Context) error {
			if ctx.Err() != nil {
				return errors.New("recovered with a dead context")
			}
			calls = append(calls, "recover")
			return nil
		}}
	tl, err := Run(context.Background(), f, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if held := tl.Recovered.Sub(tl.Injected); held < 50*time.Millisecond || tl.Fault != "restart api" {
		t.Errorf("timeline %+v: held %v, want ≥ 50ms", tl, held)
	}
	// A cancelled run still recovers what it injected.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	calls = nil
	_, err = Run(ctx, f, time.Hour)
	if !errors.Is(err, context.Canceled) || strings.Join(calls, ",") != "inject,recover" {
		t.Fatalf("cancelled run: %v, calls %v", err, calls)
	}
	// A failed injection is not recovered.
	calls = nil
	bad := Funcs{Name: "x", InjectFunc: func(context.Context) error { return errors.New("boom") },
		RecoverFunc: func(context.Context) error { calls = append(calls, "recover"); return nil }}
	if _, err := Run(context.Background(), bad, 0); err == nil || len(calls) != 0 {
		t.Fatalf("failed injection: %v, calls %v", err, calls)
	}
}
