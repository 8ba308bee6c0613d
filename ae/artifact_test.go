package ae

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/metrics"
)

// TestReportFromArtifactTree rebuilds the report from a hand-made copy of
// the artifact's results layout (experiments/trace/results and
// experiments/microbench/results) and nothing else: the directory names map
// to kdbench's systems, the logs are read, and every claim the artifact has
// data for gets a verdict.
func TestReportFromArtifactTree(t *testing.T) {
	src := filepath.Join("..", "metrics", "testdata", "artifact")
	out := t.TempDir()
	rep, err := FromResults(src, ReportOptions{Out: out, Boot: fixtureBoot})
	require.NoError(t, err)
	// The stderr copies under <run>/stderr/ are not results.
	require.Empty(t, rep.Warnings)
	verdicts := map[string]Outcome{}
	for _, c := range rep.Claims {
		verdicts[c.ID] = c.Outcome
	}
	// e2e totals: k8s 2.5 s / kd 0.5 s at 100 pods, 4 / 0.8 s at 200; the
	// same 5× for k8s+ / kd+.
	require.Equal(t, Reproduced, verdicts["upscaling-kd-vs-k8s"].Verdict, verdicts["upscaling-kd-vs-k8s"])
	require.Contains(t, verdicts["upscaling-kd-vs-k8s"].Measured, "100: 5.00× [5.00, 5.00]")
	require.Equal(t, Reproduced, verdicts["upscaling-kdplus-vs-k8splus"].Verdict)
	// Scheduling latency medians over two functions: Kn/K8s
	// (5067.5 + 4000/3)/2 = 3200.4, Kn/Kd (2683.5 + 30)/2 = 1356.75.
	require.Equal(t, NotReproduced, verdicts["knative-scheduling-latency"].Verdict)
	require.Contains(t, verdicts["knative-scheduling-latency"].Measured, "kn-k8s/kn-kd 2.36×")
	require.Contains(t, verdicts["knative-scheduling-latency"].Measured, "artifact rules")
	// Slowdown medians: Dr/Kd+ (1.2 + 1.015)/2, Dirigent (39.5/3 + 2)/2.
	require.Equal(t, Reproduced, verdicts["dirigent-parity"].Verdict)
	require.Contains(t, verdicts["dirigent-parity"].Measured, "dr-kd+/dirigent 0.15×")
	for _, f := range []string{"fig9-scale-pods", "fig9-scale-pods-controllers", "fig12-scheduling-latency", "fig12-slowdown", "fig13-scheduling-latency", "fig13-slowdown"} {
		require.Contains(t, rep.Figures, f)
		require.FileExists(t, filepath.Join(out, FiguresDir, f+".png"))
	}
	md, err := os.ReadFile(filepath.Join(out, ReportMarkdown))
	require.NoError(t, err)
	require.Contains(t, string(md), "under the artifact rules")
	require.True(t, strings.Contains(string(md), "kd.500.log") && strings.Contains(string(md), "e2e.kd+.200.log"), "the report lists the artifact's files")
}

// TestArtifactNamesWinOverBurstSystems: moved out of its tree, the
// artifact's k8s.500.csv is still Kn/K8s, not the burst system k8s.
func TestArtifactNamesWinOverBurstSystems(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "metrics", "testdata", "artifact", "trace", "results", "k8s", "default", "k8s.500.csv"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "k8s.500.csv"), b, 0o644))
	ev, err := EvidenceFromDir(dir)
	require.NoError(t, err)
	require.Empty(t, ev.Warnings)
	require.Contains(t, ev.Traces, "kn-k8s")
	require.Equal(t, metrics.CSV, ev.Traces["kn-k8s"].Format)
}
