// Package burststep runs the ae steps of the burst experiments (scale-pods,
// scale-funcs, scale-nodes: Figs 9–11) with workloads/burst, one system
// per step, each bringing its clusters up and down.
package burststep

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/workloads/burst"
)

// Runner is an ae.StepRunner for one burst shape.
type Runner struct {
	Shape    burst.Shape
	Provider clusters.Provider
	// Base is the cluster asked for; a step sets its node count.
	Base       clusters.Spec
	Settle     time.Duration
	RepTimeout time.Duration
	Log        io.Writer
	// floorConcurrency is the floor's concurrency a step of this shape
	// tuned, per QPS profile: later steps reuse it instead of tuning again
	// (steps run one at a time).
	floorConcurrency map[string]int
}

// Register adds a runner per burst shape to reg, each a copy of base.
func Register(reg ae.Registry, base Runner) {
	for name, shape := range burst.Shapes {
		r := base
		r.Shape = shape
		reg[name] = &r
	}
}

// Check reports a system this build does not include as not available.
func (r *Runner) Check(s ae.Step) error {
	if _, err := baselines.Get(s.System); err != nil {
		if why := baselines.Refusal(s.System); why != "" {
			return ae.NotAvailable("system %s is refused in this build: %s", s.System, why)
		}
		return ae.NotAvailable("system %s is not built into this kdbench (it has %s)", s.System, strings.Join(baselines.Names(), ", "))
	}
	return nil
}

// Run runs the step's bursts into a results directory under outDir.
func (r *Runner) Run(ctx context.Context, s ae.Step, outDir string) (string, error) {
	sys, err := baselines.Get(s.System)
	if err != nil {
		return "", err
	}
	base := r.Base
	base.Nodes = s.Nodes
	var floorConc []int
	for _, q := range s.Experiment.QPSProfiles {
		if c := r.floorConcurrency[q]; c > 0 && len(s.Experiment.QPSProfiles) == 1 {
			floorConc = []int{c}
		}
	}
	run, err := burst.Run(ctx, burst.Config{
		Shape: r.Shape, Systems: []baselines.System{sys}, Sizes: s.Experiment.Sizes,
		Reps: s.Experiment.Reps, Warmups: s.Experiment.Warmup, QPSProfiles: s.Experiment.QPSProfiles,
		Base: base, Provider: r.Provider, ResultsRoot: outDir,
		Settle: r.Settle, RepTimeout: r.RepTimeout, Log: r.Log,
		// Each step measures its own cluster's floor, so each system is set
		// over the floor of the cluster it ran on.
		Floor: s.Experiment.MeasuresFloor(), FloorConcurrency: floorConc,
	})
	if run == nil {
		return "", err
	}
	for k, v := range run.Manifest().Params {
		if q, ok := strings.CutPrefix(k, "floorConcurrency/"); ok {
			if c, perr := strconv.Atoi(v); perr == nil {
				if r.floorConcurrency == nil {
					r.floorConcurrency = map[string]int{}
				}
				r.floorConcurrency[q] = c
			}
		}
	}
	return run.Dir, err
}
