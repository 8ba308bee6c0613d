package ae

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/results/resultstest"
	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/workloads/failover"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// fixtureBoot keeps report tests fast and their intervals reproducible.
var fixtureBoot = stats.BootstrapOptions{Resamples: 2000, Confidence: 0.95, Seed: 1}

var fixtureStart = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// slowness is each burst system's scripted slowdown (resultstest.Pods):
// kd 5× faster than k8s, kd+ only 2× faster than k8s+.
var slowness = map[string]float64{"k8s": 5, "kd": 1, "k8s+": 2, "kd+": 1, results.FloorSystem: 0.5}

var sandboxDelay = map[string]string{"k8s": "0s", "kd": "0s", "k8s+": "200ms", "kd+": "200ms"}

// writeBurstRun writes a scale-pods run of one system under root, with
// repetitions a little apart so that intervals have width.
var (
	fixtureBuild   = results.Build{Version: "v0.1.0-test", Revision: "fixture"}
	fixtureMachine = results.MachineFacts{Hostname: "fixture", CPUs: 2, MemoryBytes: 24 << 30, OS: "Ubuntu 24.04", Kernel: "6.8.0", Arch: "amd64", GoVersion: "go1.25.0"}
)

func writeBurstRun(t *testing.T, root, system string, start time.Time) *results.Run {
	t.Helper()
	r, err := resultstest.WriteRun(root, results.Manifest{
		Experiment: "scale-pods", SizeUnit: "pods", Systems: []string{system, results.FloorSystem}, Sizes: []int{20, 40},
		QPSProfiles: []string{"artifact"}, Reps: 3, WarmupReps: 1, Start: start,
		Kdbench: fixtureBuild,
		Clusters: []results.ClusterFacts{{Provider: "local", Nodes: 80, QPSProfile: "artifact", SandboxDelay: sandboxDelay[system],
			Components: map[string]string{"kube-apiserver": "v1.32.13", "etcd": "3.5.16"}}},
		Machine: fixtureMachine,
	}, func(id results.RepID) float64 { return slowness[id.System] * (1 + 0.03*float64(id.Rep)) })
	require.NoError(t, err)
	return r
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
}

const reportProfile = `
version: 1
name: fixture
nodes: 10
cost: {clusterUp: 10s, perRep: 2s, perPod: {"*": 10ms, kd: 2ms, kd+: 2ms}}
experiments:
  - {name: scale-pods, systems: [k8s, k8s+, kd, kd+], sizes: [20, 40], reps: 3, warmup: 1}
  - {name: azure-trace, systems: [kn-model, kn-model-kd, dirigent, dr-k8s+, dr-kd+], sizes: [6], reps: 3, repDuration: 1m}
  - {name: failover, systems: [kd+, k8s+], sizes: [20, 40], reps: 3}
`

// aeFixture is an ae output directory as the pipeline leaves it: burst
// runs and trace CSVs per step, ae-state.json and ae-profile.yaml.
func aeFixture(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	p, err := ParseProfile([]byte(reportProfile))
	require.NoError(t, err)
	require.NoError(t, p.save(out))
	st := &State{Version: StateVersion, Profile: p.Name, ProfileDigest: p.Digest(), Steps: map[string]*StepState{}}
	for i, s := range p.Steps() {
		ss := &StepState{Status: StatusDone, Estimate: Duration(p.Estimate(s)), Duration: Duration(time.Duration(30+i) * time.Second),
			Started: fixtureStart.Add(time.Duration(i) * time.Minute)}
		root := filepath.Join(out, StepDir(s))
		switch s.Experiment.Name {
		case "scale-pods":
			r := writeBurstRun(t, root, s.System, ss.Started)
			ss.ResultsDir, err = filepath.Rel(out, r.Dir)
			require.NoError(t, err)
		case "azure-trace":
			copyDir(t, filepath.Join("testdata", "trace", s.System), root)
			ss.ResultsDir = StepDir(s)
		case "failover":
			if s.System == "k8s+" {
				ss = &StepState{Status: StatusNotRun, Estimate: ss.Estimate, Error: "system k8s+ is not built into this kdbench"}
				break
			}
			r := writeFailoverRun(t, root, s.System,
				recoveryCase{size: 20, kind: failover.None, ms: 400}, recoveryCase{size: 20, target: failover.ReplicaSet, kind: failover.Crash, ms: 700},
				recoveryCase{size: 40, kind: failover.None, ms: 500}, recoveryCase{size: 40, target: failover.ReplicaSet, kind: failover.Crash, ms: 900})
			ss.ResultsDir, err = filepath.Rel(out, r.Dir)
			require.NoError(t, err)
		}
		st.Steps[s.ID] = ss
	}
	require.NoError(t, st.Save(out))
	return out
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./ae -run %s -update to create it", t.Name())
	require.Equal(t, string(want), got)
}

func reportOptions() ReportOptions {
	return ReportOptions{Now: func() time.Time { return fixtureStart.Add(time.Hour) }, Boot: fixtureBoot, Kdbench: "v0.1.0-test", Source: "fixture"}
}

func TestReportFromAEDirectory(t *testing.T) {
	out := aeFixture(t)
	rep, err := FromResults(out, reportOptions())
	require.NoError(t, err)

	verdicts := map[string]Verdict{}
	for _, c := range rep.Claims {
		verdicts[c.ID] = c.Verdict
	}
	require.Equal(t, map[string]Verdict{
		"upscaling-kd-vs-k8s":         Reproduced,
		"upscaling-kdplus-vs-k8splus": NotReproduced,
		"breakdown-message-passing":   NotReproduced,
		"knative-scheduling-latency":  Reproduced,
		"dirigent-parity":             Reproduced,
		"failure-recovery":            Reproduced,
	}, verdicts)

	md, err := os.ReadFile(filepath.Join(out, ReportMarkdown))
	require.NoError(t, err)
	checkGolden(t, "report.golden.md", strings.ReplaceAll(string(md), out, "$OUT"))

	html, err := os.ReadFile(filepath.Join(out, ReportHTML))
	require.NoError(t, err)
	for _, c := range Claims {
		require.Contains(t, string(html), `id="`+c.ID+`"`)
	}
	require.Equal(t, len(rep.Figures), strings.Count(string(html), `src="data:image/png;base64,`), "every figure embedded")
	require.Contains(t, rep.Figures, "fig9-scale-pods")
	require.Contains(t, rep.Figures, "failover-replicaset")
	require.Contains(t, rep.Figures, "fig12-scheduling-latency")
	require.Contains(t, rep.Figures, "fig13-slowdown")
	for _, f := range rep.Figures {
		require.FileExists(t, filepath.Join(out, FiguresDir, f+".png"))
		require.FileExists(t, filepath.Join(out, FiguresDir, f+".svg"))
	}
}

func TestReportFromPlainDirectory(t *testing.T) {
	dir := t.TempDir()
	for i, sys := range []string{"k8s", "kd"} {
		writeBurstRun(t, filepath.Join(dir, "bursts"), sys, fixtureStart.Add(time.Duration(i)*time.Minute))
	}
	copyDir(t, filepath.Join("testdata", "trace"), filepath.Join(dir, "loader"))
	// A CSV that does not say whose it is is reported, not guessed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "loader", "exp_duration_30.csv"),
		[]byte(strings.Join(traceHeader, ",")+"\n"), 0o644))
	out := t.TempDir()
	opts := reportOptions()
	opts.Out = out
	rep, err := FromResults(dir, opts)
	require.NoError(t, err)
	outcome := map[string]Outcome{}
	for _, c := range rep.Claims {
		outcome[c.ID] = c.Outcome
	}
	require.Equal(t, Reproduced, outcome["upscaling-kd-vs-k8s"].Verdict)
	require.Equal(t, NotRun, outcome["upscaling-kdplus-vs-k8splus"].Verdict)
	require.Contains(t, outcome["upscaling-kdplus-vs-k8splus"].Reason, "no scale-pods results for kd+")
	require.Equal(t, Reproduced, outcome["knative-scheduling-latency"].Verdict)
	require.Contains(t, outcome["knative-scheduling-latency"].Measured, "over 6 / 6 functions", "min0 warm-up rows and the timed-out row are dropped")
	require.Equal(t, NotRun, outcome["failure-recovery"].Verdict)
	require.Len(t, rep.Steps, 2+5, "a row per results directory and per trace system")
	require.Len(t, rep.Warnings, 1)
	require.Contains(t, rep.Warnings[0], "exp_duration_30.csv: cannot tell which system it measured")
	require.FileExists(t, filepath.Join(out, ReportMarkdown))
	require.NoFileExists(t, filepath.Join(dir, ReportMarkdown), "--out was given")
}

var traceHeader = []string{"phase", "instance", "invocationID", "startTime", "requestedDuration", "grpcConnEstablish",
	"responseTime", "actualDuration", "connectionTimeout", "functionTimeout", "actualMemoryUsage",
	"memoryAllocationTimeout", "timeToSubmitMs", "userCodeExecutionMs", "timeToGetResponseMs"}

func TestTraceSystem(t *testing.T) {
	for path, want := range map[string]string{
		"x/kn-kd/exp_duration_30.csv":   "kn-kd",
		"x/kn-model-kd_duration_30.csv": "kn-model-kd",
		"x/dr-kd+_duration_30.csv":      "dr-kd+",
		"x/dr-kd-plus_duration_30.csv":  "dr-kd+",
		"x/dr-kdplus_duration_30.csv":   "dr-kd+", // before baselines.Slug
		"x/dirigent.csv":                "dirigent",
		"x/run1/exp_duration_30.csv":    "",
		"x/kn-kdd_duration_30.csv":      "",
	} {
		require.Equal(t, want, traceSystem(filepath.FromSlash(path)), path)
	}
}
