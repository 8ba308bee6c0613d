package main

import (
	"bytes"
	"strings"
	"testing"
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
