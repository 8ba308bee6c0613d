package fault

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// sleeper starts a supervised process group, as the systems' are.
func sleeper(t *testing.T) *supervisor.Process {
	t.Helper()
	dir := t.TempDir()
	p, err := supervisor.Start(supervisor.Spec{Name: "sleeper", Path: "sh", Args: []string{"-c", "sleep 60 & wait"},
		Log: filepath.Join(dir, "log"), Attached: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(0) })
	return p
}

func state(pid int) byte { st, _ := supervisor.State(pid); return st }

func TestCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cur := sleeper(t)
	first := cur
	c := &Crash{Target: "sleeper",
		Signal: func(ctx context.Context, sig syscall.Signal) error { return cur.Signal(ctx, sig) },
		Start:  func(context.Context) error { cur = sleeper(t); return nil }}
	if err := c.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if first.Alive() {
		t.Fatal("leader still running after Inject")
	}
	if err := c.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if cur == first || !cur.Alive() {
		t.Fatalf("after Recover: pid %d (was %d), alive %v", cur.PID, first.PID, cur.Alive())
	}
}

func TestStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := sleeper(t)
	s := &Stall{Target: "sleeper", Signal: p.Signal}
	if err := s.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if st := state(p.PID); st != 'T' {
		t.Errorf("leader in state %c after Inject, want T (stopped)", st)
	}
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if st := state(p.PID); st == 'T' {
		t.Error("leader still stopped after Recover")
	}
}

func TestProcessErrors(t *testing.T) {
	ctx := context.Background()
	dead := sleeper(t)
	dead.Stop(0)
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"crash of nothing", func() error { return (&Crash{Target: "x", Signal: dead.Signal}).Inject(ctx) }, "x: sleeper: killed: not running"},
		{"crash without a process", func() error { return (&Crash{Target: "x"}).Inject(ctx) }, "no process to signal"},
		{"restart without start", func() error { return (&Crash{Target: "x"}).Recover(ctx) }, "no way to start"},
		{"stall of nothing", func() error { return (&Stall{Target: "x", Signal: dead.Signal}).Inject(ctx) }, "not running"},
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
