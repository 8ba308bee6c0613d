package results

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
var Stages = []Stage{
	{"e2e", FamilyE2E, []Milestone{BurstStart}, []Milestone{Ready}, "scale request sent → pod seen Ready (the paper's figure)"},
	{"deployment_ctrl", FamilyKubedirect, []Milestone{BurstStart}, []Milestone{RSScaled}, "scale request → ReplicaSet seen scaled"},
	{"replicaset_ctrl", FamilyKubedirect, []Milestone{RSScaled}, []Milestone{Created}, "ReplicaSet scaled → pod seen created"},
	{"scheduler", FamilyKubedirect, []Milestone{Created}, boundOrScheduled, "pod created → seen bound (or scheduled)"},
	{"kubelet", FamilyKubedirect, boundOrScheduled, []Milestone{Ready}, "pod bound → seen Ready"},
	{"create_to_schedule", FamilyCL2, []Milestone{Created}, scheduledOrBound, "ClusterLoader2: created → scheduled"},
	{"schedule_to_run", FamilyCL2, scheduledOrBound, []Milestone{Running}, "ClusterLoader2: scheduled → running"},
	{"run_to_watch", FamilyCL2, []Milestone{Running}, []Milestone{Ready}, "ClusterLoader2: running → seen by the watch (Ready)"},
	{"schedule_to_watch", FamilyCL2, scheduledOrBound, []Milestone{Ready}, "ClusterLoader2: scheduled → seen by the watch (Ready)"},
	{"pod_startup", FamilyCL2, []Milestone{Created}, []Milestone{Ready}, "ClusterLoader2: created → seen by the watch (Ready)"},
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
