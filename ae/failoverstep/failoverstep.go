// Package failoverstep runs the ae steps of the failover experiment
// (failure recovery) with workloads/failover, one system per step on a
// cluster of its own. The step's results directory (manifest.json,
// recovery.csv, summary.json) is what ae's failure-recovery claim reads.
package failoverstep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/failover"
)

// Profile params the runner reads: targets, kinds and phases are
// comma-separated lists (default: the experiment's defaults); podsPerNode
// scales the nodes with each size (default: the step's nodes for all).
// Any other is an error.
const (
	ParamTargets     = "targets"
	ParamKinds       = "kinds"
	ParamPhases      = "phases"
	ParamPodsPerNode = "podsPerNode"
)

var knownParams = []string{ParamTargets, ParamKinds, ParamPhases, ParamPodsPerNode}

// Runner is an ae.StepRunner for failover.
type Runner struct {
	Provider clusters.Provider
	// Base is the cluster asked for; a step sets its node count.
	Base clusters.Spec
	// Hold is how long a cut or stall lasts (default 2s); CaseTimeout
	// bounds each wait of a case (default 5m).
	Hold, CaseTimeout time.Duration
	Log               io.Writer
	// run runs the experiment; nil is failover.Run (tests fake it).
	run func(context.Context, failover.Config) (*results.Run, []failover.Row, error)
}

func list(p map[string]string, key string) []string {
	v := strings.TrimSpace(p[key])
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// config builds the experiment's configuration from the step, less the
// executor and output.
func config(s ae.Step) (failover.Config, error) {
	var errs []error
	p := s.Experiment.Params
	for k := range p {
		if !slices.Contains(knownParams, k) {
			errs = append(errs, fmt.Errorf("param %q: unknown (known: %s)", k, strings.Join(knownParams, ", ")))
		}
	}
	if s.Experiment.Warmup != 0 {
		errs = append(errs, fmt.Errorf("warmup %d: failover has no warm-up repetitions (its control is kind none); set warmup: 0", s.Experiment.Warmup))
	}
	cfg := failover.Config{Systems: []string{s.System}, Sizes: s.Experiment.Sizes, Reps: s.Experiment.Reps}
	var err error
	if cfg.Targets, err = failover.ParseTargets(list(p, ParamTargets)); err != nil {
		errs = append(errs, fmt.Errorf("param %s: %w", ParamTargets, err))
	}
	if cfg.Kinds, err = failover.ParseKinds(list(p, ParamKinds)); err != nil {
		errs = append(errs, fmt.Errorf("param %s: %w", ParamKinds, err))
	}
	if cfg.Phases, err = failover.ParsePhases(list(p, ParamPhases)); err != nil {
		errs = append(errs, fmt.Errorf("param %s: %w", ParamPhases, err))
	}
	if v := strings.TrimSpace(p[ParamPodsPerNode]); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("param %s %q: a positive number of pods per node", ParamPodsPerNode, v))
		}
	}
	return cfg, errors.Join(errs...)
}

// podsPerNode is the step's podsPerNode param (checked by config), 0 if unset.
func podsPerNode(s ae.Step) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s.Experiment.Params[ParamPodsPerNode]))
	return n
}

// Check reports a system this build does not include as not available;
// bad params are an error.
func (r *Runner) Check(s ae.Step) error {
	if _, err := baselines.Get(s.System); err != nil {
		if why := baselines.Refusal(s.System); why != "" {
			return ae.NotAvailable("system %s is refused in this build: %s", s.System, why)
		}
		return ae.NotAvailable("system %s is not built into this kdbench (it has %s)", s.System, strings.Join(baselines.Names(), ", "))
	}
	if _, err := config(s); err != nil {
		return fmt.Errorf("%s: %w", s.ID, err)
	}
	return nil
}

// Run runs the step's cases into a results directory under outDir. A case
// that breaks an invariant fails the step, but its results are kept and
// judged by the claim.
func (r *Runner) Run(ctx context.Context, s ae.Step, outDir string) (string, error) {
	cfg, err := config(s)
	if err != nil {
		return "", err
	}
	base := r.Base
	base.Nodes = s.Nodes
	cfg.ResultsRoot, cfg.Log = outDir, r.Log
	logf := func(string, ...any) {}
	if r.Log != nil {
		logf = func(f string, a ...any) { fmt.Fprintf(r.Log, f+"\n", a...) }
	}
	hold, caseTimeout := r.Hold, r.CaseTimeout
	if hold <= 0 {
		hold = 2 * time.Second
	}
	if caseTimeout <= 0 {
		caseTimeout = 5 * time.Minute
	}
	cfg.Executor = &failover.ClusterExecutor{Provider: r.Provider, Base: base, Hold: hold, CaseTimeout: caseTimeout,
		PodsPerNode: podsPerNode(s), Logf: logf}
	run := r.run
	if run == nil {
		run = failover.Run
	}
	res, _, err := run(ctx, cfg)
	if res == nil {
		return "", err
	}
	return res.Dir, err
}
