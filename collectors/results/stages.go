package results

import (
	"strings"

	"github.com/kdbench/kdbench/internal/stats"
)

// Milestone is one observed moment in a pod's life.
type Milestone int

const (
	BurstStart Milestone = iota
	RSScaled
	Created
	Scheduled
	Bound
	Running
	Ready
	Deleted
)

var milestoneNames = [...]string{"burst_start", "rs_scaled", "created", "scheduled", "bound", "running", "ready", "deleted"}

func (m Milestone) String() string {
	if m < 0 || int(m) >= len(milestoneNames) {
		return "milestone(?)"
	}
	return milestoneNames[m]
}

// At returns the pod's timestamp of m (0 if not observed).
func (p PodRecord) At(m Milestone) int64 {
	ts := p.timestamps()
	if m < 0 || int(m) >= len(ts) {
		return 0
	}
	return *ts[m]
}

// first returns the first observed of ms, so a stage can say "bound, or
// scheduled when binding was not seen on its own".
func (p PodRecord) first(ms []Milestone) int64 {
	for _, m := range ms {
		if t := p.At(m); t != 0 {
			return t
		}
	}
	return 0
}

// Family groups stages by where their definition comes from.
type Family string

const (
	FamilyE2E        Family = "e2e"
	FamilyKubedirect Family = "kubedirect"
	FamilyCL2        Family = "clusterloader2"
)

// Stage is a per-pod duration between two milestones.
type Stage struct {
	// Name is the Metric label in summary.json.
	Name   string
	Family Family
	// From and To list milestones in order of preference; the first
	// observed one is used.
	From, To []Milestone
	Help     string
}

var boundOrScheduled = []Milestone{Bound, Scheduled}
var scheduledOrBound = []Milestone{Scheduled, Bound}

// Stages are the per-pod durations every burst run reports: the paper's
// end-to-end latency, the Kubedirect paper's four hops (which add up to it)
// and ClusterLoader2's PodStartupLatency phases (comparable with CL2 runs).
// A stage with CL2's name keeps CL2's definition: its "watch" is the
// informer first seeing status.phase Running (not Ready), and its
// percentiles take index ⌈p·n⌉−1 (Family.Percentile). CL2's schedule_to_run
// and run_to_watch need the container start time the kubelet reports,
// which kdbench does not record, so they are not reported; running_to_ready
// is kdbench's own.
var Stages = []Stage{
	{"e2e", FamilyE2E, []Milestone{BurstStart}, []Milestone{Ready}, "scale request sent → pod seen Ready (the paper's figure; its p90 is the artifact's total, index ⌊0.9·n⌋)"},
	{"deployment_ctrl", FamilyKubedirect, []Milestone{BurstStart}, []Milestone{RSScaled}, "scale request → ReplicaSet seen scaled"},
	{"replicaset_ctrl", FamilyKubedirect, []Milestone{RSScaled}, []Milestone{Created}, "ReplicaSet scaled → pod seen created"},
	{"scheduler", FamilyKubedirect, []Milestone{Created}, boundOrScheduled, "pod created → seen bound (or scheduled)"},
	{"kubelet", FamilyKubedirect, boundOrScheduled, []Milestone{Ready}, "pod bound → seen Ready"},
	{"running_to_ready", FamilyKubedirect, []Milestone{Running}, []Milestone{Ready}, "kdbench: status Running seen → Ready seen"},
	{"create_to_schedule", FamilyCL2, []Milestone{Created}, scheduledOrBound, "ClusterLoader2: created → scheduled"},
	{"schedule_to_watch", FamilyCL2, scheduledOrBound, []Milestone{Running}, "ClusterLoader2: scheduled → watch (status Running first seen)"},
	{"pod_startup", FamilyCL2, []Milestone{Created}, []Milestone{Running}, "ClusterLoader2: created → watch (status Running first seen)"},
}

// Percentile is how a family's stages take percentiles over pods: CL2's
// stages as CL2 does, the others as the Kubedirect artifact does.
func (f Family) Percentile() stats.QuantileRule {
	if f == FamilyCL2 {
		return stats.QuantileCL2
	}
	return stats.Quantile
}

// PercentileRule names Percentile's rule, for labels and tables.
func (f Family) PercentileRule() string {
	if f == FamilyCL2 {
		return PercentileCL2
	}
	return PercentileArtifact
}

// Percentile rules, as summary.json labels them (LabelPercentile).
const (
	PercentileCL2      = "ceil(p*n)-1 (ClusterLoader2)"
	PercentileArtifact = "floor(p*n) (Kubedirect artifact)"
)

// percentileRuleOf is the rule of a Metric label: a stage's, a breakdown
// item's (the artifact's), or "" for anything else.
func percentileRuleOf(metric string) string {
	if st, ok := StageByName(metric); ok {
		return st.Family.PercentileRule()
	}
	if strings.HasPrefix(metric, BreakdownPrefix) {
		return PercentileArtifact
	}
	return ""
}

// StageByName returns the named stage.
func StageByName(name string) (Stage, bool) {
	for _, s := range Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Duration returns the pod's time in the stage in nanoseconds, and false if
// either end was not observed. It may be negative when two informers saw
// causally ordered events out of order; that is reported, not hidden.
func (s Stage) Duration(p PodRecord) (int64, bool) {
	from, to := p.first(s.From), p.first(s.To)
	if from == 0 || to == 0 {
		return 0, false
	}
	return to - from, true
}

// BreakdownStages are the Kubedirect hops in pipeline order. Their
// breakdown items (Metric breakdown_<name>) are differences between the
// percentiles of successive milestones over pods, measured from the burst
// start, so for each percentile they stack up to exactly the e2e value.
var BreakdownStages = []string{"deployment_ctrl", "replicaset_ctrl", "scheduler", "kubelet"}

// breakdownMilestones are the cumulative ends of BreakdownStages.
var breakdownMilestones = [][]Milestone{{RSScaled}, {Created}, boundOrScheduled, {Ready}}

// BreakdownPrefix prefixes the Metric label of breakdown items.
const BreakdownPrefix = "breakdown_"
