package kd

import (
	"context"
	"path/filepath"
	"testing"
)

func TestPID(t *testing.T) {
	s := New("kd", 0, "")
	p, err := start("kd-scheduler", "sleep", filepath.Join(t.TempDir(), "log"), "60")
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(0)
	s.procs = append(s.procs, p)
	if got := s.PID("kd-scheduler"); got != p.cmd.Process.Pid {
		t.Fatalf("PID = %d, want %d", got, p.cmd.Process.Pid)
	}
	if got := s.PID("kd-nodeagent"); got != 0 {
		t.Fatalf("PID of a process not started = %d", got)
	}
	if got := s.Processes(); len(got) != 1 || got["kd-scheduler"] != p.cmd.Process.Pid {
		t.Fatalf("Processes() = %v, want only kd-scheduler", got)
	}
	p.stop(0)
	if got := s.PID("kd-scheduler"); got != 0 {
		t.Fatalf("PID of a stopped process = %d", got)
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
