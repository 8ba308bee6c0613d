package burst

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/floor"
)

// minFloorReps is the fewest floor measurements per size.
const minFloorReps = 3

// floorKey is a floor measured once per run: per QPS profile and size (the
// floor involves no node agent, so clusters that differ only in nodes or
// sandbox delay share it).
type floorKey struct {
	profile string
	size    int
}

// runFloors measures, on the group's freshly started cluster and before any
// system runs on it, the floor of every size of the group not measured yet
// (floor.System in the results): the concurrency is tuned once at the
// largest such size, then each size gets max(cfg.Reps, 3) measurements.
func runFloors(ctx context.Context, cfg Config, run *results.Run, c *clusters.Cluster, g group, done map[floorKey]bool) error {
	type todo struct{ size, pods int }
	var sizes []todo
	for _, j := range g.jobs {
		k := floorKey{g.spec.QPSProfile, j.size}
		if !done[k] && !slices.ContainsFunc(sizes, func(t todo) bool { return t.size == j.size }) {
			sizes = append(sizes, todo{j.size, j.plan.Pods()})
		}
	}
	if len(sizes) == 0 {
		return nil
	}
	slices.SortFunc(sizes, func(a, b todo) int { return a.size - b.size })
	tmpl := Deployment("", floor.System, 0).Spec.Template
	fc := floor.Config{REST: c.REST, Template: tmpl, Nodes: max(c.Nodes, 1), Timeout: cfg.RepTimeout}
	big := sizes[len(sizes)-1]
	fc.Pods, fc.Namespace = big.pods, fmt.Sprintf("kd-floor-tune-%s-%d", g.spec.QPSProfile, big.size)
	var err error
	best, trials := 0, []floor.Trial(nil)
	if len(cfg.FloorConcurrency) == 1 {
		best = cfg.FloorConcurrency[0] // given (tuned before): no trials
	} else if best, trials, err = floor.Tune(ctx, fc, cfg.FloorConcurrency); err != nil {
		return fmt.Errorf("floor (%s): tuning the concurrency at %d pods: %w", g.spec.QPSProfile, big.pods, err)
	}
	if best == 0 {
		return fmt.Errorf("floor (%s): no concurrency tried at %d pods saw every pod Ready", g.spec.QPSProfile, big.pods)
	}
	tried := formatTrials(trials)
	if len(trials) == 0 {
		tried = "given"
	}
	fmt.Fprintf(cfg.Log, "floor (%s): concurrency %d at %d pods (tried %s)\n", g.spec.QPSProfile, best, big.pods, tried)
	if err := run.UpdateManifest(func(m *results.Manifest) {
		if m.Params == nil {
			m.Params = map[string]string{}
		}
		m.Params["floorConcurrency/"+g.spec.QPSProfile] = strconv.Itoa(best)
		m.Params["floorTrials/"+g.spec.QPSProfile] = tried
	}); err != nil {
		return err
	}
	var errs error
	for _, s := range sizes {
		// At least three: on a shared machine one sample of the floor can
		// land on a busy moment, and the summary's median resists one.
		for rep := range max(cfg.Reps, minFloorReps) {
			id := results.RepID{System: floor.System, QPSProfile: g.spec.QPSProfile, Size: s.size, Rep: rep}
			fc.Pods, fc.Concurrency, fc.Namespace = s.pods, best, fmt.Sprintf("kd-floor-%s-%d-r%d", g.spec.QPSProfile, s.size, rep)
			r, merr := floor.Measure(ctx, fc)
			if merr == nil {
				merr = run.AppendPods(id, r.Records())
				fmt.Fprintf(cfg.Log, "%s: %d pods Ready, p90 %s (API writes only, concurrency %d; %s)\n", id, len(r.Pods), r.P90().Round(1e6), best, r.Rate())
			}
			state := results.RepOK
			if merr != nil {
				state = results.RepFailed
			}
			errs = errors.Join(errs, merr, run.MarkRep(id, state, merr))
			if ctx.Err() != nil {
				return errs
			}
		}
		done[floorKey{g.spec.QPSProfile, s.size}] = true
	}
	return errs
}

func formatTrials(ts []floor.Trial) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%d→%s", t.Concurrency, t.P90.Round(1e6))
	}
	return strings.Join(parts, " ")
}
