package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/failover"
)

// TestRunFailoverFlags: bad failover flags and a run that cannot be
// resumed are refused before any cluster starts.
func TestRunFailoverFlags(t *testing.T) {
	done := scriptedRun(t, "scale-pods", 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--targets", "gateway"}, `unknown target "gateway"`},
		{[]string{"--kinds", "crash,reboot"}, `unknown kind "reboot"`},
		{[]string{"--phases", "burst,burst"}, `phase "burst" given twice`},
		{[]string{"--system", "borg"}, `unknown system "borg"`},
		{[]string{"--resume", done}, "a scale-pods run, not failover"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := newRootCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(append([]string{"run", "failover", "--results", t.TempDir()}, tc.args...))
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q\n%s", err, tc.want, out.String())
			}
		})
	}
}

// TestPlotFailoverRun: kdbench plot draws a failover run's recovery
// panels from its recovery.csv, with no cluster.
func TestPlotFailoverRun(t *testing.T) {
	run, err := results.Create(t.TempDir(), results.Manifest{Experiment: failover.Experiment, SizeUnit: "pods",
		Systems: []string{"kd"}, Sizes: []int{100, 300}, Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	log, err := failover.OpenLog(run.Path(failover.RecoveryFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, size := range []int{100, 300} {
		c := failover.Case{System: "kd", Size: size, Phase: failover.Burst, Target: failover.Scheduler, Kind: failover.Crash}
		if err := log.Append(failover.Row{Case: c, Status: failover.StatusOK, Injected: 1e9, Converged: 1e9 + int64(i+1)*3e8}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd("plot", run.Dir, "--format", "png")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	path := filepath.Join(run.FiguresPath(), "failover-scheduler.png")
	if _, err := os.Stat(path); err != nil || !strings.Contains(out, path) {
		t.Fatalf("want %s drawn and listed: %v\n%s", path, err, out)
	}
}
