package replay

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/timeline"
)

// TestBreakDownColdStarts splits scripted scale-ups from zero (times in
// ms from 0) into the stages.
func TestBreakDownColdStarts(t *testing.T) {
	const dep = "fn1-00001-deployment"
	ms := func(v int64) int64 { return v * 1e6 }
	scale := func(at int64, n int32) timeline.Scale { return timeline.Scale{At: ms(at), Replicas: n} }
	inv := func(issued, started int64, phase int) InvocationTimes {
		s := int64(0)
		if started != 0 {
			s = ms(started)
		}
		return InvocationTimes{Issued: ms(issued), Started: s, Phase: phase}
	}
	pod := func(name string, created, bound, ready int64) results.PodRecord {
		return results.PodRecord{Namespace: "ns", Function: dep, Pod: dep + "-abc-" + name,
			Created: ms(created), Bound: ms(bound), Ready: ms(ready)}
	}
	type stage struct {
		name string
		p50  float64
		n    int
	}
	for _, tc := range []struct {
		name   string
		in     ColdStartInput
		want   ColdStartBreakdown // counts only
		stages []stage
	}{
		{
			name: "kubernetes: each stage between its milestones",
			in: ColdStartInput{
				Scales:      map[string][]timeline.Scale{dep: {scale(1010, 1)}},
				Pods:        []results.PodRecord{pod("a", 1030, 1060, 1160)},
				Invocations: map[string][]InvocationTimes{"fn1": {inv(1000, 1170, 2), inv(1005, 1400, 2)}},
			},
			want: ColdStartBreakdown{ColdStarts: 1},
			stages: []stage{{StageKnative, 10, 1}, {StageKubernetes, 50, 1}, {StageNode, 100, 1},
				{StageActivator, 10, 1}, {StageTotal, 170, 1}},
		},
		{
			name: "pod first seen bound (kd without hops): controllers and node merged",
			in: ColdStartInput{
				Scales:      map[string][]timeline.Scale{dep: {scale(20, 1)}},
				Pods:        []results.PodRecord{pod("a", 50, 50, 80)},
				Invocations: map[string][]InvocationTimes{"fn1": {inv(0, 90, 2)}},
			},
			want:   ColdStartBreakdown{ColdStarts: 1},
			stages: []stage{{StageKnative, 20, 1}, {StageControllersNode, 60, 1}, {StageActivator, 10, 1}, {StageTotal, 90, 1}},
		},
		{
			name: "hop-timed pod, matched by name when its owner is unknown",
			in: ColdStartInput{
				Scales: map[string][]timeline.Scale{dep: {scale(20, 1)}},
				Pods: []results.PodRecord{{Namespace: "ns", Pod: dep + "-abc-x",
					Created: ms(25), Bound: ms(30), Ready: ms(80)}},
				Invocations: map[string][]InvocationTimes{"fn1": {inv(0, 80, 2)}},
				HopTimed:    map[string]bool{"ns/" + dep + "-abc-x": true},
			},
			want:   ColdStartBreakdown{ColdStarts: 1, HopTimed: 1},
			stages: []stage{{StageKnative, 20, 1}, {StageKubernetes, 10, 1}, {StageNode, 50, 1}, {StageActivator, 0, 1}, {StageTotal, 80, 1}},
		},
		{
			name: "milestones received out of order are taken no earlier than the one before",
			in: ColdStartInput{
				Scales:      map[string][]timeline.Scale{dep: {scale(30, 1)}},
				Pods:        []results.PodRecord{pod("a", 10, 20, 50)},
				Invocations: map[string][]InvocationTimes{"fn1": {inv(0, 60, 2)}},
			},
			want:   ColdStartBreakdown{ColdStarts: 1},
			stages: []stage{{StageKnative, 30, 1}, {StageKubernetes, 0, 1}, {StageNode, 20, 1}, {StageActivator, 10, 1}, {StageTotal, 60, 1}},
		},
		{
			name: "two scale-ups: each window its own invocations and pods; warm-up and unmatched left out",
			in: ColdStartInput{
				Scales: map[string][]timeline.Scale{
					dep:                    {scale(10, 1), scale(500, 0), scale(1020, 2), scale(2000, 0), scale(3010, 1), scale(3500, 0), scale(4010, 1)},
					"fn2-00001-deployment": {scale(10, 1)}, // never invoked: unmatched
				},
				Pods: []results.PodRecord{
					pod("w", 15, 20, 40),       // warm-up window
					pod("a", 1030, 1040, 1100), // second window
					pod("b", 1031, 1041, 1090), // its first Ready
					pod("c", 3020, 3030, 3200), // third window
					pod("old", 15, 20, 1050),   // Ready late, but made in the first window
					pod("z", 4020, 4030, 0),    // fourth window: never Ready
					{Namespace: "ns", Pod: "other-1", Created: ms(1030), Bound: ms(1031), Ready: ms(1032)},
				},
				Invocations: map[string][]InvocationTimes{"fn1": {
					inv(0, 50, 1),
					inv(1000, 1100, 2), inv(1001, 0, 2), // the second failed
					inv(3000, 3210, 2),
					inv(4000, 0, 2),
				}},
			},
			want: ColdStartBreakdown{ColdStarts: 2, Warmup: 1, Unmatched: 2},
			// Knative: 20 and 10; kubernetes 21 (b: raised 1020 → bound 1041) and 20; node 49 and 170;
			// activator 10 and 10; total 100 and 210.
			stages: []stage{{StageKnative, 15, 2}, {StageKubernetes, 20.5, 2}, {StageNode, 109.5, 2},
				{StageActivator, 10, 2}, {StageTotal, 155, 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BreakDownColdStarts(tc.in)
			require.Equal(t, tc.want.ColdStarts, got.ColdStarts, "cold starts")
			require.Equal(t, tc.want.Warmup, got.Warmup, "warm-up")
			require.Equal(t, tc.want.Unmatched, got.Unmatched, "unmatched")
			require.Equal(t, tc.want.HopTimed, got.HopTimed, "hop-timed")
			var names []string
			for _, s := range got.Stages {
				names = append(names, s.Name)
			}
			require.Len(t, got.Stages, len(tc.stages), "stages %v", names)
			for i, w := range tc.stages {
				s := got.Stages[i]
				require.Equal(t, w.name, s.Name)
				require.InDelta(t, w.p50, s.P50, 1e-9, s.Name)
				require.Equal(t, w.n, s.N, s.Name)
			}
		})
	}
}

func TestWriteColdStarts(t *testing.T) {
	var b strings.Builder
	WriteColdStarts(&b, []Summary{{System: "kn-model"}, {System: "kn-k8s", ColdStarts: &ColdStartBreakdown{ColdStarts: 3, Warmup: 1,
		Stages: []StageTimes{{Name: StageKnative, Span: "arrival → replicas raised", N: 3, P50: 12.5, P90: 30, Mean: 15}}}}})
	require.Equal(t, "kn-k8s cold starts: 3 scale-ups from zero measured (1 in warm-up, 0 unmatched, 0 hop-timed); stage ms p50/p90/mean\n"+
		"  knative controllers    arrival → replicas raised                          12.5/30.0/15.0  (3)\n", b.String())
}
