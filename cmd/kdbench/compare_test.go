package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/results/resultstest"
)

// scriptedRun writes a finished scale-pods run in which system k8s+ runs
// slow× slower than in the baseline.
func scriptedRun(t *testing.T, experiment string, slow float64) string {
	t.Helper()
	m := results.Manifest{
		Kdbench:    results.Build{Version: "test", Revision: "test"},
		Experiment: experiment, SizeUnit: "pods",
		Systems: []string{"k8s", "k8s+"}, Sizes: []int{10, 20}, Reps: 3, WarmupReps: 1,
		Machine: results.MachineFacts{Hostname: "test"},
		Start:   time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	r, err := resultstest.WriteRun(t.TempDir(), m, func(id results.RepID) float64 {
		s := 1 + 0.1*float64(id.Rep%3)
		if id.System == "k8s+" {
			s *= slow
		}
		return s
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.Dir
}

func runCmd(cmdArgs ...string) (string, error) {
	var out bytes.Buffer
	var cmd = newCompareCmd()
	if cmdArgs[0] == "plot" {
		cmd = newPlotCmd()
	}
	cmd.SetArgs(cmdArgs[1:])
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

// The CI gate: compare fails with a RegressionError (exit status 1 from
// main) exactly when B is slower than allowed, and with another error for
// runs that cannot be compared.
func TestCompareCommandExitStatus(t *testing.T) {
	base := scriptedRun(t, "scale-pods", 1)
	same := scriptedRun(t, "scale-pods", 1)
	slower := scriptedRun(t, "scale-pods", 1.3)
	other := scriptedRun(t, "scale-funcs", 1)
	tests := []struct {
		name       string
		args       []string
		regression bool
		fails      bool
		output     string
	}{
		{"no change passes", []string{"compare", base, same}, false, false, "k8s+"},
		{"30% slower fails the default 10% gate", []string{"compare", base, slower}, true, true, "REGRESSION"},
		{"30% slower passes a 50% gate", []string{"compare", base, slower, "--max-regression", "50%"}, false, false, "1.30"},
		{"faster is fine", []string{"compare", slower, base}, false, false, "0.77"},
		{"another metric", []string{"compare", base, slower, "--metric", "scheduler_p50", "--max-regression", "0.2"}, true, true, "scheduler_p50"},
		{"different experiments", []string{"compare", base, other}, false, true, ""},
		{"bad metric", []string{"compare", base, same, "--metric", "e2e"}, false, true, ""},
		{"bad threshold", []string{"compare", base, same, "--max-regression", "lots"}, false, true, ""},
		{"not a results directory", []string{"compare", base, t.TempDir()}, false, true, ""},
		{"one argument", []string{"compare", base}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCmd(tt.args...)
			if (err != nil) != tt.fails {
				t.Fatalf("error = %v, want failure %v\n%s", err, tt.fails, out)
			}
			var re *results.RegressionError
			if errors.As(err, &re) != tt.regression {
				t.Errorf("error %v: regression %v, want %v", err, !tt.regression, tt.regression)
			}
			if !strings.Contains(out, tt.output) {
				t.Errorf("output does not contain %q:\n%s", tt.output, out)
			}
		})
	}
}
