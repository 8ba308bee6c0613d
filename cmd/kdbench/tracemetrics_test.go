package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runTraceMetrics(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd := newTraceMetricsCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

// The hand-made artifact tree of package metrics, whose values its golden
// tests work out by hand: stdout is the CSV alone, the rules go to stderr.
func TestTraceMetricsCommand(t *testing.T) {
	tree := filepath.Join("..", "..", "metrics", "testdata", "artifact")
	out, errs, err := runTraceMetrics(tree)
	require.NoError(t, err, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "system,metric,functions,p50,p99", lines[0])
	require.Len(t, lines, 11, out)
	require.Contains(t, out, "kn-k8s,scheduling_latency_ms,2,3200.4167,5030.1583\n")
	require.Contains(t, out, "dr-kd+,slowdown,2,1.1075,1.1982\n")
	require.Contains(t, errs, "rules: artifact")
	require.Contains(t, errs, "pandas' default quantile")

	// Dirigent's rules: a geometric mean over every row, timeout included
	// (tq1 (2.5·21·16·10)^¼ = 9.5735, tq2 √(1.5·2.5) = 1.9365), and the
	// latency over every row (1162.5 and 200 ms).
	out, _, err = runTraceMetrics(filepath.Join(tree, "trace", "results", "dirigent"), "--rules", "dirigent")
	require.NoError(t, err)
	require.Equal(t, "system,metric,functions,p50,p99\ndirigent,slowdown,2,5.7550,9.4971\ndirigent,scheduling_latency_ms,2,681.2500,1152.8750\n", out)
	_, _, err = runTraceMetrics(tree, "--rules", "geometric")
	require.ErrorContains(t, err, `unknown metric rules "geometric"`)
}
