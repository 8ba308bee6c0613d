package selfcheck

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
)

var id = results.RepID{System: "k8s", QPSProfile: "tuned", Size: 3, Rep: 1}

func rec(pod string, readyNs int64) results.PodRecord {
	return results.PodRecord{Namespace: "ns", Pod: pod, Ready: readyNs}
}

func TestWatchLag(t *testing.T) {
	for _, tc := range []struct {
		name        string
		recs        []results.PodRecord
		timings     []PodTiming
		want        float64
		verdict     results.Verdict
		detail      string
		wantNoCheck bool
	}{
		{name: "small lags", recs: []results.PodRecord{rec("a", 1_205_000_000), rec("b", 1_220_000_000)}, timings: twoTimings,
			want: 0.010, verdict: results.VerdictOK, detail: "over 2 of 2 Ready pods: p50 10.0 ms, p99 10.0 ms, max 10.0 ms; 0 seen before"},
		{name: "a pod seen 300 ms late", recs: []results.PodRecord{rec("a", 1_205_000_000), rec("b", 1_510_000_000)}, timings: twoTimings,
			want: 0.300, verdict: results.VerdictWarn},
		{name: "seen before the write returned counts 0", recs: []results.PodRecord{rec("a", 1_190_000_000)}, timings: twoTimings,
			want: 0, verdict: results.VerdictOK, detail: "1 seen before the write returned"},
		{name: "pods the agent did not report are left out",
			recs:    []results.PodRecord{rec("a", 1_201_000_000), rec("c", 9e9), {Namespace: "other", Pod: "b", Ready: 9e9}},
			timings: twoTimings, want: 0.001, verdict: results.VerdictOK, detail: "over 1 of 3 Ready pods"},
		{name: "no timing matches", recs: []results.PodRecord{rec("c", 9e9)}, timings: twoTimings,
			verdict: results.VerdictWarn, detail: "not measured: the node agent reported none of the 1 pods seen Ready (2 timings)"},
		{name: "no Ready pod, no check", recs: []results.PodRecord{rec("a", 0)}, timings: twoTimings, wantNoCheck: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := WatchLag(id, tc.recs, tc.timings)
			if tc.wantNoCheck {
				require.Empty(t, cs)
				return
			}
			require.Len(t, cs, 1)
			c := cs[0]
			require.Equal(t, results.CheckWatchLag, c.Name)
			require.Equal(t, id, c.RepID)
			require.Equal(t, "seconds", c.Unit)
			require.Equal(t, WatchLagThreshold.Seconds(), c.Threshold)
			require.InDelta(t, tc.want, c.Value, 1e-9)
			require.Equal(t, tc.verdict, c.Verdict, "%v", c)
			require.Contains(t, c.Detail, tc.detail)
		})
	}
}

func TestNodeAgentLag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		delay   time.Duration
		timings []PodTiming
		want    float64
		verdict results.Verdict
	}{
		{"agent as configured", 200 * time.Millisecond, twoTimings, 0.010, results.VerdictOK}, // lags 0 and 10 ms
		{"agent slower than its delay", 100 * time.Millisecond, twoTimings, 0.110, results.VerdictWarn},
		{"no delay", 0, twoTimings[:1], 0.200, results.VerdictWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := NodeAgentLag(id, tc.timings, tc.delay)
			require.Len(t, cs, 1)
			require.Equal(t, results.CheckNodeAgentLag, cs[0].Name)
			require.InDelta(t, tc.want, cs[0].Value, 1e-9)
			require.Equal(t, tc.verdict, cs[0].Verdict, "%v", cs[0])
			require.Contains(t, cs[0].Detail, "minus its "+tc.delay.String()+" sandbox delay")
		})
	}
	require.Empty(t, NodeAgentLag(id, nil, time.Second))
}
