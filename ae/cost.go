package ae

import (
	"fmt"
	"time"
)

// CostModel estimates a step's run time from what it asks of the cluster.
// The numbers are the profile's (measured on the machine it targets); a
// finished step's actual time is recorded beside its estimate.
type CostModel struct {
	// ClusterUp is one cluster's bring-up and tear-down.
	ClusterUp Duration `json:"clusterUp"`
	// PerNode is added to a bring-up per simulated node.
	PerNode Duration `json:"perNode,omitempty"`
	// PerRep is a repetition's fixed cost: prepare, settle, clean up.
	PerRep Duration `json:"perRep"`
	// PerPod is the time per pod to Ready, per system; "*" is the default.
	PerPod map[string]Duration `json:"perPod"`
	// FloorPerRun is one floor measurement's fixed cost (namespace, watch,
	// deletion) and FloorPerPod its cost per pod; a burst step measures the
	// floor at every size and repetition, after one tuning trial per
	// candidate concurrency at its largest size.
	FloorPerRun Duration `json:"floorPerRun,omitempty"`
	FloorPerPod Duration `json:"floorPerPod,omitempty"`
}

// floorTrials is how many tuning trials a floor makes per cluster
// (floor.DefaultConcurrency).
const floorTrials = 3

func (c CostModel) validate() []error {
	var errs []error
	for name, d := range map[string]Duration{"clusterUp": c.ClusterUp, "perNode": c.PerNode, "perRep": c.PerRep,
		"floorPerRun": c.FloorPerRun, "floorPerPod": c.FloorPerPod} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("cost.%s %s: must not be negative", name, d.D()))
		}
	}
	if _, ok := c.PerPod["*"]; !ok {
		errs = append(errs, fmt.Errorf("cost.perPod: needs a default entry \"*\""))
	}
	for sys, d := range c.PerPod {
		if d < 0 {
			errs = append(errs, fmt.Errorf("cost.perPod[%s] %s: must not be negative", sys, d.D()))
		}
	}
	return errs
}

func (c CostModel) perPod(system string) time.Duration {
	if d, ok := c.PerPod[system]; ok {
		return d.D()
	}
	return c.PerPod["*"].D()
}

// Estimate is the step's expected run time: its clusters' bring-up, then
// per repetition (warm-ups included) and size the fixed cost, the pods, the
// experiment's cost per unit of size and its fixed repetition length.
func (p *Profile) Estimate(s Step) time.Duration {
	e, c := s.Experiment, p.Cost
	kind, _ := KindOf(e.Name)
	profiles := max(1, len(e.QPSProfiles))
	nodes := s.Nodes
	var total time.Duration
	up := func(n int) time.Duration { return c.ClusterUp.D() + time.Duration(n)*c.PerNode.D() }
	if kind.ClusterPerSize {
		for _, size := range e.Sizes {
			total += time.Duration(profiles) * up(size)
		}
	} else {
		total += time.Duration(profiles) * up(nodes)
	}
	reps := time.Duration(profiles * (e.Reps + e.Warmup))
	for _, size := range e.Sizes {
		pods := time.Duration(size * kind.PodsPerSize)
		total += reps * (c.PerRep.D() + e.RepDuration.D() + pods*c.perPod(s.System) + time.Duration(size)*e.PerUnit.D())
	}
	if e.MeasuresFloor() {
		// The experiment's first step tunes the floor's concurrency; the
		// others reuse it (ae/burststep).
		tune := len(e.Systems) == 0 || s.System == e.Systems[0] || kind.ClusterPerSize
		total += time.Duration(profiles) * c.floor(e.Sizes, kind, e.Reps, tune)
	}
	return total
}

// FloorParam turns a burst experiment's floor off ("false"), for time.
const FloorParam = "floor"

// MeasuresFloor says the experiment's steps also measure the floor: burst
// experiments, unless params.floor is "false".
func (e Experiment) MeasuresFloor() bool {
	k, _ := KindOf(e.Name)
	return k.Floor && e.Params[FloorParam] != "false"
}

// floor is the floor's cost on one QPS profile: the tuning trials (with
// tune: once, or per size where each size has its own cluster) and reps
// measurements per size.
func (c CostModel) floor(sizes []int, kind ExperimentKind, reps int, tune bool) time.Duration {
	one := func(size int) time.Duration {
		return c.FloorPerRun.D() + time.Duration(size*kind.PodsPerSize)*c.FloorPerPod.D()
	}
	var total time.Duration
	largest := 0
	for _, size := range sizes {
		total += time.Duration(reps) * one(size)
		if kind.ClusterPerSize {
			total += floorTrials * one(size)
		}
		largest = max(largest, size)
	}
	if tune && !kind.ClusterPerSize && largest > 0 {
		total += floorTrials * one(largest)
	}
	return total
}
