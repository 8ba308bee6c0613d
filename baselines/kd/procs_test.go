package kd

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kdbench/kdbench/internal/supervisor"
)

func TestSignalAndProcesses(t *testing.T) {
	ctx := context.Background()
	s := New("kd", 0, "")
	p, err := supervisor.Start(supervisor.Spec{Name: "kd-scheduler", Path: "sleep", Args: []string{"60"},
		Log: filepath.Join(t.TempDir(), "log"), Attached: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(0)
	s.procs = append(s.procs, p)
	if err := s.Signal(ctx, "kd-scheduler", syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if st, _ := supervisor.State(p.PID); st != 'T' {
		t.Fatalf("kd-scheduler in state %c after SIGSTOP", st)
	}
	if err := s.Signal(ctx, "kd-nodeagent", syscall.SIGSTOP); err == nil {
		t.Fatal("signalled a process never started")
	}
	if got := s.Processes(); len(got) != 1 || got["kd-scheduler"] != p.PID {
		t.Fatalf("Processes() = %v, want only kd-scheduler", got)
	}
	p.Stop(0)
	if err := s.Signal(ctx, "kd-scheduler", syscall.SIGCONT); err == nil {
		t.Fatal("signalled a stopped process")
	}
	if got := s.Processes(); len(got) != 0 {
		t.Fatalf("Processes() after the stop = %v", got)
	}
}

func TestRestartNeedsPrepare(t *testing.T) {
	s := New("kd", 0, "")
	for _, name := range []string{Autoscaler, "kd-scheduler"} {
		if err := s.Restart(context.Background(), name); err == nil {
			t.Errorf("Restart(%s) before Prepare succeeded", name)
		}
	}
}
