package replay

import (
	"math"
	"sort"
	"strings"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/timeline"
	"github.com/kdbench/kdbench/metrics"
)

// ColdStartTimer is a FrontEnder whose cold starts RunTrial splits into
// stages (real Knative: the harness watches the revision Deployments and
// their pods while replaying, and keeps each invocation's times).
type ColdStartTimer interface {
	TimesColdStarts() bool
}

// The stages of a cold start, in pipeline order, each between two
// milestones on the harness's clock (docs/knative.md, "Where a cold start's
// time goes"):
//   - arrival: the first invocation of the function since it was last at
//     zero is issued (it waits in the activator);
//   - raised: the harness receives the watch event of the revision
//     Deployment's spec.replicas going from 0 up (the KPA's decision and
//     the KPA reconciler's write);
//   - bound: the harness receives the pod bound (spec.nodeName set), or
//     for Kubedirect the scheduler hop sent it to the node agent (its
//     /hops log, as the bursts' breakdown);
//   - Ready: the harness receives the pod's Ready condition;
//   - started: the first invocation since zero starts executing: its
//     response time minus the execution time the function reported,
//     after its issue (so the response's way back is in "activator").
//
// A pod the API first showed already bound (Kubedirect's pods without hop
// timestamps: the node side exposes them) has no separate controller and
// node times: its raised → Ready is StageControllersNode.
const (
	StageKnative         = "knative controllers"
	StageKubernetes      = "kubernetes controllers"
	StageNode            = "node side"
	StageControllersNode = "controllers+node"
	StageActivator       = "activator"
	StageTotal           = "total"
)

// ColdStartStages are the stages in pipeline order, with their spans.
var ColdStartStages = []struct{ Name, Span string }{
	{StageKnative, "arrival → replicas raised"},
	{StageKubernetes, "replicas raised → pod bound"},
	{StageNode, "pod bound → Ready"},
	{StageControllersNode, "replicas raised → Ready, pod first seen bound"},
	{StageActivator, "Ready → invocation starts"},
	{StageTotal, "arrival → invocation starts"},
}

// ColdStartBreakdown is where the measured phase's scale-ups from zero
// spent their time.
type ColdStartBreakdown struct {
	// ColdStarts are the measured scale-ups from zero; Warmup those whose
	// first invocation was in the warm-up; Unmatched those without a
	// waiting invocation, a Ready pod or a started invocation (a scale-up
	// the replay's end cut short, or one the watches missed).
	ColdStarts int `json:"coldStarts"`
	Warmup     int `json:"warmup"`
	Unmatched  int `json:"unmatched"`
	// HopTimed: cold starts whose bound came from Kubedirect's hop logs.
	HopTimed int          `json:"hopTimed"`
	Stages   []StageTimes `json:"stages"`
}

// StageTimes is one stage's distribution over cold starts, in ms.
type StageTimes struct {
	Name string  `json:"name"`
	Span string  `json:"span"`
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	Mean float64 `json:"mean"`
}

// InvocationTimes is what the breakdown keeps of one invocation: its issue
// and start times (Unix ns; Started 0 if it failed) and phase.
type InvocationTimes struct {
	Issued, Started int64
	Phase           int
}

// ColdStartInput is what the harness saw during a replay.
type ColdStartInput struct {
	// Scales: each revision Deployment's replicas changes (timeline).
	Scales map[string][]timeline.Scale
	// Pods: the pods that appeared during the replay (timeline's records,
	// hop timestamps overlaid for Kubedirect).
	Pods []results.PodRecord
	// Invocations by function (the replay's Deployment name, fn<row>).
	Invocations map[string][]InvocationTimes
	// HopTimed says which pods' Created and Bound came from hop logs.
	HopTimed map[string]bool
}

// functionOf is the replay's function of a Knative revision Deployment
// (fn7-00001-deployment → fn7): its names have no '-'.
func functionOf(deployment string) string {
	fn, _, _ := strings.Cut(deployment, "-")
	return fn
}

// BreakDownColdStarts splits each scale-up from zero into the stages.
func BreakDownColdStarts(in ColdStartInput) ColdStartBreakdown {
	pods := podsByDeployment(in.Scales, in.Pods)
	var out ColdStartBreakdown
	values := map[string][]float64{}
	deps := make([]string, 0, len(in.Scales))
	for d := range in.Scales {
		deps = append(deps, d)
	}
	sort.Strings(deps)
	for _, d := range deps {
		invs := in.Invocations[functionOf(d)]
		sort.Slice(invs, func(i, j int) bool { return invs[i].Issued < invs[j].Issued })
		for _, w := range upWindows(in.Scales[d]) {
			cs, ok := coldStartIn(w, invs, pods[d])
			switch {
			case !ok:
				out.Unmatched++
				continue
			case cs.phase == 1:
				out.Warmup++
				continue
			}
			out.ColdStarts++
			if in.HopTimed[cs.pod] {
				out.HopTimed++
			}
			for stage, v := range cs.stages() {
				values[stage] = append(values[stage], v)
			}
		}
	}
	for _, s := range ColdStartStages {
		v := values[s.Name]
		if len(v) == 0 {
			continue
		}
		d := metrics.Summarize(v)
		out.Stages = append(out.Stages, StageTimes{Name: s.Name, Span: s.Span, N: d.N, P50: d.P50, P90: d.P90, Mean: d.Mean})
	}
	return out
}

// podsByDeployment groups pods by revision Deployment: the pod's owner if
// the timeline knew it, else the Deployment whose name prefixes the pod's
// (<deployment>-<hash>-<suffix>, as Kubedirect's pods are named too).
func podsByDeployment(scales map[string][]timeline.Scale, pods []results.PodRecord) map[string][]results.PodRecord {
	out := map[string][]results.PodRecord{}
	for _, p := range pods {
		d := p.Function
		if _, ok := scales[d]; !ok {
			d = ""
			for name := range scales {
				if strings.HasPrefix(p.Pod, name+"-") && len(name) > len(d) {
					d = name
				}
			}
		}
		if d != "" {
			out[d] = append(out[d], p)
		}
	}
	return out
}

// window is one scale-up from zero: from the previous time at zero
// (math.MinInt64: the replay's start) to the next (0: none seen).
type window struct{ zero, up, nextZero int64 }

func upWindows(scales []timeline.Scale) []window {
	var out []window
	zero := int64(math.MinInt64)
	at := int32(0) // the revision Deployments start the replay at zero
	for _, s := range scales {
		switch {
		case at == 0 && s.Replicas > 0:
			out = append(out, window{zero: zero, up: s.At})
		case at > 0 && s.Replicas == 0:
			zero = s.At
			if n := len(out); n > 0 && out[n-1].nextZero == 0 {
				out[n-1].nextZero = s.At
			}
		}
		at = s.Replicas
	}
	return out
}

// inWindow says whether t is after the window's zero and not after end (0:
// no end).
func inWindow(t, zero, end int64) bool { return t > zero && (end == 0 || t <= end) }

// coldStart is one scale-up's milestones (Unix ns) and its pod.
type coldStart struct {
	arrival, raised, bound, ready, started int64
	firstSeenBound                         bool
	phase                                  int
	pod                                    string
}

// coldStartIn matches a window with its first invocation, its first Ready
// pod and its first started invocation.
func coldStartIn(w window, invs []InvocationTimes, pods []results.PodRecord) (coldStart, bool) {
	cs := coldStart{raised: w.up}
	arrived := false
	for _, inv := range invs {
		if inWindow(inv.Issued, w.zero, w.up) {
			cs.arrival, cs.phase, arrived = inv.Issued, inv.Phase, true
			break
		}
	}
	for _, inv := range invs {
		if inv.Started != 0 && inWindow(inv.Issued, w.zero, w.nextZero) && (cs.started == 0 || inv.Started < cs.started) {
			cs.started = inv.Started
		}
	}
	var first *results.PodRecord
	for i := range pods {
		p := &pods[i]
		if p.Ready != 0 && inWindow(p.Created, w.zero, w.nextZero) && (first == nil || p.Ready < first.Ready) {
			first = p
		}
	}
	if !arrived || cs.started == 0 || first == nil {
		return cs, false
	}
	cs.pod, cs.ready, cs.bound = first.Namespace+"/"+first.Pod, first.Ready, first.Bound
	cs.firstSeenBound = first.Bound == 0 || first.Bound <= first.Created
	return cs, true
}

// stages are the cold start's stage times in ms. Each milestone is taken
// no earlier than the one before it: the watches of Deployments and pods
// are separate streams, so a later milestone can be received first.
func (cs coldStart) stages() map[string]float64 {
	raised := max(cs.raised, cs.arrival)
	bound := max(cs.bound, raised)
	ready := max(cs.ready, bound)
	started := max(cs.started, ready)
	ms := func(from, to int64) float64 { return float64(to-from) / 1e6 }
	out := map[string]float64{
		StageKnative:   ms(cs.arrival, raised),
		StageActivator: ms(ready, started),
		StageTotal:     ms(cs.arrival, started),
	}
	if cs.firstSeenBound {
		out[StageControllersNode] = ms(raised, ready)
	} else {
		out[StageKubernetes], out[StageNode] = ms(raised, bound), ms(bound, ready)
	}
	return out
}
