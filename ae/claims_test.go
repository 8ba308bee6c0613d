package ae

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/results/resultstest"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/trace"
)

// stagedRun writes a scale-pods run of one system whose pods spend mp ms
// passing messages (deployment ctrl, ReplicaSet ctrl, scheduler: 10, 30
// and 60 %) and kubelet ms in the kubelet, give or take 1 % per pod.
func stagedRun(t *testing.T, system, profile string, mp, kubelet float64) *results.Run {
	t.Helper()
	r, err := results.Create(t.TempDir(), results.Manifest{Experiment: "scale-pods", Systems: []string{system},
		Sizes: []int{50}, QPSProfiles: []string{profile}, Reps: 3, Start: fixtureStart})
	require.NoError(t, err)
	ms := func(x float64) int64 { return int64(x * float64(time.Millisecond)) }
	for rep := range 3 {
		pods := make([]results.PodRecord, 50)
		for i := range pods {
			f := 1 + 0.01*float64(i+rep)
			p := results.PodRecord{Namespace: "ns", Function: "fn", Pod: fmt.Sprintf("p%d", i), BurstStart: resultstest.Epoch}
			p.RSScaled = p.BurstStart + ms(0.1*mp*f)
			p.Created = p.RSScaled + ms(0.3*mp*f)
			p.Scheduled = p.Created + ms(0.6*mp*f)
			p.Bound = p.Scheduled
			p.Running = p.Bound + ms(kubelet*f)
			p.Ready = p.Running
			pods[i] = p
		}
		id := results.RepID{System: system, QPSProfile: profile, Size: 50, Rep: rep}
		require.NoError(t, r.AppendPods(id, pods))
		require.NoError(t, r.MarkRep(id, results.RepOK, nil))
	}
	require.NoError(t, r.Finish(nil))
	return r
}

// traceRecords scripts n functions × 3 measured invocations with the
// given scheduling delay and slowdown (response = requested × slowdown + delay).
func traceRecords(n int, delayMs, slowdown float64) []trace.Record {
	var out []trace.Record
	for f := range n {
		for k := range 3 {
			req := int64(100_000 * (f + 1))
			actual := int64(float64(req)*slowdown) + int64(k)*100
			out = append(out, trace.Record{Phase: 2, Instance: fmt.Sprintf("f%d-x", f), InvocationID: fmt.Sprintf("min%d.inv%d", 10+k, f),
				RequestedDurationUs: req, ActualDurationUs: actual, ResponseTimeUs: actual + int64(delayMs*1000*(1+0.05*float64(f)))})
		}
	}
	return out
}

func evaluate(t *testing.T, id string, ev *Evidence) Outcome {
	t.Helper()
	for _, c := range Claims {
		if c.ID == id {
			return c.Evaluate(ev, fixtureBoot)
		}
	}
	t.Fatalf("no claim %s", id)
	return Outcome{}
}

// withTraces is evidence of the given systems' trace records.
func withTraces(tr map[string][]trace.Record) *Evidence {
	ev := newEvidence()
	for sys, recs := range tr {
		ev.Traces[sys] = &metrics.Source{System: sys, Format: metrics.CSV, CSV: recs}
	}
	return ev
}

func TestClaimVerdicts(t *testing.T) {
	withRuns := func(runs ...*results.Run) *Evidence {
		ev := newEvidence()
		ev.Runs = runs
		return ev
	}
	tests := []struct {
		name, claim string
		ev          *Evidence
		verdict     Verdict
		reason      string
	}{
		{"breakdown: message passing gone from kd+", "breakdown-message-passing",
			withRuns(stagedRun(t, "kd+", "artifact", 20, 200), stagedRun(t, "k8s+", "artifact", 2000, 200)),
			Reproduced, "it dominates k8s+ and not kd+"},
		{"breakdown: still dominant in kd", "breakdown-message-passing",
			withRuns(stagedRun(t, "kd", "artifact", 300, 200), stagedRun(t, "k8s", "artifact", 2000, 200)),
			NotReproduced, "message passing still dominates kd"},
		{"breakdown: only tuned measured", "breakdown-message-passing",
			withRuns(stagedRun(t, "kd", "tuned", 30, 200), stagedRun(t, "k8s", "tuned", 2000, 200)),
			NotRun, "no size measured under the artifact QPS profile on both kd and k8s"},
		{"speed-up: only tuned measured", "upscaling-kd-vs-k8s",
			withRuns(stagedRun(t, "kd", "tuned", 30, 200), stagedRun(t, "k8s", "tuned", 2000, 200)),
			NotRun, "no size was measured under the artifact QPS profile"},
		{"speed-up: only default measured (the claims judge artifact)", "upscaling-kd-vs-k8s",
			withRuns(stagedRun(t, "kd", "default", 30, 200), stagedRun(t, "k8s", "default", 2000, 200)),
			NotRun, "no size was measured under the artifact QPS profile"},
		{"speed-up: kd missing", "upscaling-kd-vs-k8s",
			withRuns(stagedRun(t, "k8s", "artifact", 2000, 200)),
			NotRun, "no scale-pods results for kd"},
		{"knative: 40× lower", "knative-scheduling-latency",
			withTraces(map[string][]trace.Record{"kn-k8s": traceRecords(8, 2000, 1), "kn-kd": traceRecords(8, 50, 1)}),
			Reproduced, "is ≥ 13.3×"},
		{"knative: only 5× lower", "knative-scheduling-latency",
			withTraces(map[string][]trace.Record{"kn-k8s": traceRecords(8, 250, 1), "kn-kd": traceRecords(8, 50, 1)}),
			NotReproduced, "is below 13.3×"},
		{"knative: everything in the warm-up", "knative-scheduling-latency",
			func() *Evidence {
				ev := withTraces(map[string][]trace.Record{"kn-k8s": traceRecords(8, 2000, 1), "kn-kd": traceRecords(8, 50, 1)})
				ev.TraceWarmupMinutes = 30
				return ev
			}(),
			NotRun, "kn-k8s's trace results leave no function with a measured invocation under the artifact rules (after 30 warm-up minutes)"},
		{"dirigent: twice as slow", "dirigent-parity",
			withTraces(map[string][]trace.Record{"dirigent": traceRecords(8, 10, 1.2), "dr-kd+": traceRecords(8, 10, 2.4)}),
			NotReproduced, "exceeds 1.2×"},
		{"dirigent: on par", "dirigent-parity",
			withTraces(map[string][]trace.Record{"dirigent": traceRecords(8, 10, 1.2), "dr-kd+": traceRecords(8, 10, 1.25)}),
			Reproduced, "≤ 1.2×"},
		{"failover: no experiment yet", "failure-recovery",
			func() *Evidence {
				ev := newEvidence()
				ev.Missing["failover/kd+"] = "not run: experiment failover is not available in this build"
				return ev
			}(),
			NotRun, "not run: experiment failover is not available in this build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := evaluate(t, tt.claim, tt.ev)
			require.Equal(t, tt.verdict, out.Verdict, "%+v", out)
			require.Contains(t, out.Reason, tt.reason)
		})
	}
}

// TestKnativeClaimPair: Fig 12's claim is real Knative's when a kn-k8s or
// kn-kd result is given, else the model's, and then says so.
func TestKnativeClaimPair(t *testing.T) {
	for _, tc := range []struct {
		name     string
		traces   map[string][]trace.Record
		measured string
		model    bool
	}{
		{"real", map[string][]trace.Record{"kn-k8s": traceRecords(8, 2000, 1), "kn-kd": traceRecords(8, 50, 1)}, "kn-k8s/kn-kd 40.00×", false},
		{"model", map[string][]trace.Record{"kn-model": traceRecords(8, 500, 1), "kn-model-kd": traceRecords(8, 50, 1)}, "kn-model/kn-model-kd 10.00×", true},
		{"both: real wins", map[string][]trace.Record{"kn-k8s": traceRecords(8, 2000, 1), "kn-kd": traceRecords(8, 50, 1),
			"kn-model": traceRecords(8, 500, 1), "kn-model-kd": traceRecords(8, 50, 1)}, "kn-k8s/kn-kd 40.00×", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := evaluate(t, "knative-scheduling-latency", withTraces(tc.traces))
			require.Contains(t, out.Measured, tc.measured)
			if tc.model {
				require.Contains(t, out.Measured, "kdbench's modelled Knative front-end, not real Knative")
			} else {
				require.NotContains(t, out.Measured, "modelled")
			}
		})
	}
	// Without results, the reason is the step's the pipeline tried.
	ev := newEvidence()
	ev.Missing["azure-trace/kn-model"] = "step azure-trace/kn-model failed without results: boom"
	out := evaluate(t, "knative-scheduling-latency", ev)
	require.Equal(t, NotRun, out.Verdict)
	require.Equal(t, "step azure-trace/kn-model failed without results: boom", out.Reason)
}

// A step the pipeline could not run explains the missing claim.
func TestEvidenceFromStateExplainsMissingData(t *testing.T) {
	st := &State{Steps: map[string]*StepState{
		"azure-trace/kn-k8s": {Status: StatusNotRun, Error: "experiment azure-trace is not available in this build"},
		"azure-trace/kn-kd":  {Status: StatusNotRun, Error: "experiment azure-trace is not available in this build"},
		"scale-pods/kd":      {Status: StatusFailed, Error: "cluster did not come up"},
	}}
	ev := EvidenceFromState(t.TempDir(), st, nil)
	out := evaluate(t, "knative-scheduling-latency", ev)
	require.Equal(t, NotRun, out.Verdict)
	require.Equal(t, "not run: experiment azure-trace is not available in this build", out.Reason)
	out = evaluate(t, "upscaling-kd-vs-k8s", ev)
	require.Equal(t, NotRun, out.Verdict)
	require.Equal(t, "step scale-pods/kd failed without results: cluster did not come up", out.Reason)
}
