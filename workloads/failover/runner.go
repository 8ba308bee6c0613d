package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
)

// Executor brings up what a system needs for the failover cases.
type Executor interface {
	// Open prepares a system on a cluster for its cases of the given sizes.
	Open(ctx context.Context, system string, sizes []int) (Session, error)
}

// PerSize is an Executor whose cluster depends on the cases' size (nodes
// scaled with pods): when PerSize is true the runner opens one session per
// system and size, else one per system for all sizes.
type PerSize interface {
	PerSize() bool
}

// Session runs one system's cases on one cluster.
type Session interface {
	// Supports returns nil if the system has the case's target and kind,
	// else why not (the case is recorded as skipped).
	Supports(c Case) error
	// Run injects the case's fault and returns the measured row (Status ok
	// or violated). An error means the harness could not run the case.
	Run(ctx context.Context, c Case) (Row, error)
	Close(ctx context.Context) error
}

// Parameterized is an Executor with settings of its own (nodes, hold time,
// limits): a new run records Params in its manifest, and a resumed run
// gives them back through SetParams, so that its remaining cases run as
// its first ones did.
type Parameterized interface {
	Params() map[string]string
	SetParams(map[string]string) error
}

// Preflighter is an Executor that can refuse, before a run starts, the
// cases its clusters cannot give: a fault its provider cannot inject, a
// setting a system's cluster cannot honour.
type Preflighter interface {
	Preflight(ctx context.Context, cases []Case) error
}

// ErrViolations is returned by Run when some case broke an invariant.
var ErrViolations = errors.New("failover invariants violated")

// Config is one `kdbench run failover`.
type Config struct {
	Systems []string
	Sizes   []int
	Phases  []Phase
	Targets []Target
	Kinds   []Kind
	Reps    int
	// ResultsRoot receives a new run directory; Resume, if set, is a run
	// directory of an interrupted run to continue instead.
	ResultsRoot, Resume string
	// Params are recorded in the manifest (hold time, nodes, …).
	Params   map[string]string
	Executor Executor
	Log      io.Writer
}

// Experiment is the failover experiment's name in results.
const Experiment = "failover"

func (c *Config) validate() error {
	if len(c.Systems) == 0 {
		return errors.New("no system to run")
	}
	if len(c.Sizes) == 0 {
		c.Sizes = []int{100, 300}
	}
	for _, s := range c.Sizes {
		if s < 2 {
			return fmt.Errorf("size %d: the failover experiment needs at least 2 pods", s)
		}
	}
	if c.Reps < 1 {
		return fmt.Errorf("--reps %d: at least one repetition", c.Reps)
	}
	if len(c.Phases) == 0 {
		c.Phases = Phases
	}
	if len(c.Targets) == 0 {
		c.Targets = DefaultTargets
	}
	if len(c.Kinds) == 0 {
		c.Kinds = DefaultKinds
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return nil
}

// open creates the run directory, or reopens the one to resume after
// checking that it ran the same experiment.
func (c *Config) open() (*results.Run, error) {
	if c.Resume != "" {
		// Check the experiment before Resume marks the run as running.
		peek, err := results.Open(c.Resume)
		if err != nil {
			return nil, err
		}
		if e := peek.Manifest().Experiment; e != Experiment {
			return nil, fmt.Errorf("--resume %s: a %s run, not %s", c.Resume, e, Experiment)
		}
		run, err := results.Resume(c.Resume)
		if err != nil {
			return nil, err
		}
		m := run.Manifest()
		if p, ok := c.Executor.(Parameterized); ok {
			if err := p.SetParams(m.Params); err != nil {
				return nil, fmt.Errorf("--resume %s: %w", c.Resume, err)
			}
		}
		return run, nil
	}
	params := map[string]string{
		"phases": joinStrings(c.Phases), "targets": joinStrings(c.Targets), "kinds": joinStrings(c.Kinds),
	}
	if p, ok := c.Executor.(Parameterized); ok {
		for k, v := range p.Params() {
			params[k] = v
		}
	}
	for k, v := range c.Params {
		params[k] = v
	}
	return results.Create(c.ResultsRoot, results.Manifest{Experiment: Experiment, SizeUnit: "pods",
		Systems: c.Systems, Sizes: c.Sizes, Reps: c.Reps, Params: params})
}

func joinStrings[T ~string](v []T) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

// Run runs every case not yet in the run directory's recovery.csv and
// returns the run with all rows. It fails with ErrViolations (joined with
// any harness errors) when some case broke an invariant.
func Run(ctx context.Context, cfg Config) (*results.Run, []Row, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	pf, preflights := cfg.Executor.(Preflighter)
	if preflights && cfg.Resume == "" {
		// Before the run directory exists: a refused run leaves nothing.
		if err := pf.Preflight(ctx, Plan(cfg.Systems, cfg.Sizes, cfg.Phases, cfg.Targets, cfg.Kinds, cfg.Reps)); err != nil {
			return nil, nil, err
		}
	}
	run, err := cfg.open()
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(cfg.Log, "results: %s\n", run.Dir)
	log, err := OpenLog(run.Path(RecoveryFile))
	if err != nil {
		return run, nil, err
	}
	defer log.Close()
	// The manifest's plan, which a resumed run keeps whatever the flags say.
	m := run.Manifest()
	phases, perr := ParsePhases(splitParam(m.Params["phases"], cfg.Phases))
	targets, terr := ParseTargets(splitParam(m.Params["targets"], cfg.Targets))
	kinds, kerr := ParseKinds(splitParam(m.Params["kinds"], cfg.Kinds))
	if err := errors.Join(perr, terr, kerr); err != nil {
		return run, nil, fmt.Errorf("%s: %w", run.Path(results.ManifestFile), err)
	}
	cases := Plan(m.Systems, m.Sizes, phases, targets, kinds, m.Reps)
	if preflights && cfg.Resume != "" {
		if err := pf.Preflight(ctx, cases); err != nil {
			return run, nil, errors.Join(err, run.Finish(err))
		}
	}

	groups := [][]int{m.Sizes} // the sizes that share a session
	if p, ok := cfg.Executor.(PerSize); ok && p.PerSize() {
		groups = groups[:0]
		for _, n := range m.Sizes {
			groups = append(groups, []int{n})
		}
	}
	var runErr error
run:
	for _, sys := range m.Systems {
		for _, sizes := range groups {
			var todo []Case
			for _, c := range cases {
				if c.System == sys && slices.Contains(sizes, c.Size) && !log.Done(c) {
					todo = append(todo, c)
				}
			}
			if len(todo) == 0 {
				continue
			}
			if err := runSystem(ctx, cfg, run, log, sys, sizes, todo); err != nil {
				runErr = errors.Join(runErr, err)
				if ctx.Err() != nil {
					break run
				}
			}
		}
	}
	rows := log.Rows()
	if ctx.Err() == nil && slices.ContainsFunc(rows, func(r Row) bool { return r.Status == StatusViolated }) {
		runErr = errors.Join(ErrViolations, runErr)
	}
	if ferr := run.Finish(runErr, Summary(rows)...); ferr != nil {
		return run, rows, errors.Join(runErr, ferr)
	}
	return run, rows, runErr
}

// splitParam reads a manifest list, or keeps cfg's for a manifest without one.
func splitParam[T ~string](s string, def []T) []string {
	if s == "" {
		out := make([]string, len(def))
		for i, d := range def {
			out[i] = string(d)
		}
		return out
	}
	return strings.Split(s, ",")
}

// runSystem runs one system's remaining cases of sizes on one session, appending
// each row durably before the next case starts.
func runSystem(ctx context.Context, cfg Config, run *results.Run, log *Log, sys string, sizes []int, todo []Case) (err error) {
	s, err := cfg.Executor.Open(ctx, sys, sizes)
	if err != nil {
		return fmt.Errorf("%s: %w", sys, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if cerr := s.Close(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: closing: %w", sys, cerr))
		}
	}()
	var errs error
	for _, c := range todo {
		if ctx.Err() != nil {
			return errors.Join(errs, ctx.Err())
		}
		var row Row
		if why := s.Supports(c); why != nil {
			row = Row{Case: c, Status: StatusSkipped, Detail: why.Error()}
		} else {
			row, err = s.Run(ctx, c)
			row.Case = c
			if err != nil {
				if ctx.Err() != nil {
					// Interrupted: not a result; resume runs it again.
					return errors.Join(errs, fmt.Errorf("%s: %w", c, err))
				}
				row.Status, row.Detail = StatusFailed, err.Error()
				errs = errors.Join(errs, fmt.Errorf("%s: %w", c, err))
			} else if len(row.Violations) > 0 {
				row.Status = StatusViolated
			} else {
				row.Status = StatusOK
			}
		}
		if len(row.Pods) > 0 {
			// Before the row: a resumed run re-runs a case without one.
			if perr := results.WritePodsFile(run.Path(c.PodsFile()), row.Pods); perr != nil {
				return errors.Join(errs, perr)
			}
			row.Pods = nil // the log holds what recovery.csv does
		}
		if aerr := log.Append(row); aerr != nil {
			return errors.Join(errs, aerr)
		}
		fmt.Fprintf(cfg.Log, "%s\n", describe(row))
	}
	return errs
}

func describe(r Row) string {
	switch r.Status {
	case StatusOK:
		s := fmt.Sprintf("%s: recovered in %s", r.Case, r.Recovery().Round(time.Millisecond))
		if r.Detail != "" {
			s += " (" + r.Detail + ")"
		}
		return s
	case StatusViolated:
		return fmt.Sprintf("%s: VIOLATED %s", r.Case, FormatViolations(r.Violations))
	default:
		return fmt.Sprintf("%s: %s: %s", r.Case, r.Status, r.Detail)
	}
}

// Summary returns summary.json's items: per (system, size, phase, target,
// kind), the recovery time's median and max over the measured reps in ms.
func Summary(rows []Row) []results.DataItem {
	type key struct {
		sys    string
		size   int
		ph     Phase
		target Target
		kind   Kind
	}
	var order []key
	groups := map[key][]Row{}
	for _, r := range rows {
		if r.Status == StatusSkipped {
			continue
		}
		k := key{r.System, r.Size, r.Phase, r.Target, r.Kind}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	controls := NewControls(rows)
	var out []results.DataItem
	for _, k := range order {
		var ms, over, resync []float64
		violated := 0
		for _, r := range groups[k] {
			if r.Status != StatusOK {
				violated++
				continue
			}
			ms = append(ms, float64(r.Recovery())/1e6)
			if d, ok := controls.OverControl(r); ok {
				over = append(over, float64(d)/1e6)
			}
			if r.Resync() > 0 {
				resync = append(resync, float64(r.Resync())/1e6)
			}
		}
		item := func(metric string, ms []float64, counts bool) {
			data := map[string]float64{results.KeyCount: float64(len(ms))}
			if counts {
				data["Violated"] = float64(violated)
			}
			if len(ms) > 0 {
				slices.Sort(ms)
				data[results.KeyPerc50] = ms[len(ms)/2]
				data[results.KeyMax] = ms[len(ms)-1]
			}
			out = append(out, results.DataItem{Data: data, Unit: "ms", Labels: map[string]string{
				results.LabelMetric: metric, results.LabelExperiment: Experiment, results.LabelSystem: k.sys,
				results.LabelSize: strconv.Itoa(k.size), "Phase": string(k.ph), "Target": string(k.target), "Kind": string(k.kind),
			}})
		}
		item("recovery", ms, true)
		// The fault's own cost: beyond the no-fault control, and a crashed
		// process's restart until its links resynced.
		if len(over) > 0 {
			item("recovery_over_control", over, false)
		}
		if len(resync) > 0 {
			item("resync", resync, false)
		}
	}
	return out
}
