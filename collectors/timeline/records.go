package timeline

import (
	"slices"
	"sort"

	"github.com/kdbench/kdbench/collectors/results"
)

// Records returns one row per burst pod, sorted by function and name, for
// results.Run.AppendPods. Missing milestones are 0.
func (c *Collector) Records(id results.RepID, experiment string) []results.PodRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]results.PodRecord, 0, len(c.pods))
	for _, p := range c.pods {
		if !p.burst {
			continue
		}
		fn, scaled := p.label, int64(0)
		if rs := c.rs[p.rs]; rs != nil {
			if rs.function != "" {
				fn = rs.function
			}
			scaled = rs.scaled
		}
		if f := c.fns[fn]; scaled == 0 && f != nil {
			scaled = f.rsScaled
		}
		out = append(out, results.PodRecord{
			System: id.System, QPSProfile: id.QPSProfile, Experiment: experiment,
			Size: id.Size, Rep: id.Rep, Warmup: id.Warmup,
			Namespace: p.namespace, Function: fn, Pod: p.name, Node: p.node,
			BurstStart: c.start, RSScaled: scaled, Created: p.created, Scheduled: p.scheduled,
			Bound: p.bound, Running: p.running, Ready: p.ready, Deleted: p.deleted,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Pod < out[j].Pod
	})
	return out
}

// Function is what the collector saw of one function (Deployment) during
// the burst; times are Unix ns, 0 = not seen.
type Function struct {
	Name   string
	Target int32
	// DeploymentScaled and RSScaled: first seen with spec.replicas at the
	// target after the burst start.
	DeploymentScaled, RSScaled int64
	// Ready counts its pods seen Ready.
	Ready int
}

// Functions returns the functions given targets by MarkBurstStart, by name.
func (c *Collector) Functions() []Function {
	c.mu.Lock()
	defer c.mu.Unlock()
	ready := map[string]int{}
	for _, p := range c.pods {
		if p.burst && p.ready != 0 {
			fn := p.label
			if rs := c.rs[p.rs]; rs != nil && rs.function != "" {
				fn = rs.function
			}
			ready[fn]++
		}
	}
	var out []Function
	for name, f := range c.fns {
		if f.hasTarget {
			out = append(out, Function{Name: name, Target: f.target,
				DeploymentScaled: f.deploymentScaled, RSScaled: f.rsScaled, Ready: ready[name]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Scale is a Deployment's spec.replicas as first seen changed: At is the
// harness's receive time of the watch event (Unix ns).
type Scale struct {
	At       int64
	Replicas int32
}

// Scales returns, per Deployment, every change of spec.replicas seen after
// MarkBurstStart, in the order seen.
func (c *Collector) Scales() map[string][]Scale {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]Scale{}
	for name, f := range c.fns {
		if len(f.scales) > 0 {
			out[name] = slices.Clone(f.scales)
		}
	}
	return out
}

// Events counts what one informer delivered.
type Events struct {
	Adds, Updates, Deletes int
	// Tombstones: deletions learnt from a relist (the watch missed them).
	Tombstones int
	// FromList: adds and updates whose state came from a list.
	FromList int
	// Lists and Watches the informer made; Relists = Lists − 1 and
	// WatchRestarts = Watches − 1. A watch restart resumes where the old
	// watch ended; a relist means the watch could not resume.
	Lists, Watches, Relists, WatchRestarts int
}

// Stats is what the collector received, for the self-checks and debugging.
type Stats struct {
	Pods, ReplicaSets, Deployments Events
	// ReadyFromList: burst pods whose Ready only a list showed.
	ReadyFromList int
	// Preexisting: pods first seen before the burst, which are not its pods.
	Preexisting int
}

// Stats returns the counts so far.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	c.mu.Unlock()
	for k, ev := range []*Events{&s.Pods, &s.ReplicaSets, &s.Deployments} {
		ev.Lists, ev.Watches = c.lws[k].counts()
		ev.Relists, ev.WatchRestarts = max(ev.Lists-1, 0), max(ev.Watches-1, 0)
	}
	return s
}
