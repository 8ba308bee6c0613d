// Package tracestep runs the ae steps of the azure-trace experiment (Figs
// 12–13) with workloads/replay: one system per step, each repetition a
// replay of the same clip on a cluster of its own.
//
// The step's loader CSVs land under the step's directory, where ae's
// evidence finds them and credits them to the step's system.
package tracestep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/trace"
)

// Profile params the runner reads; any other is an error, so that a typo
// is not silently a default.
const (
	// ParamTrace is a loader trace directory to sample from; without it the
	// step replays a synthetic trace (trace.Synth) of the step's size.
	ParamTrace         = "trace"
	ParamMinutes       = "minutes"
	ParamWarmupMinutes = "warmupMinutes"
	ParamSeed          = "seed"
	// ParamGranularity is minute (the paper's) or second.
	ParamGranularity = "granularity"
)

var knownParams = []string{ParamTrace, ParamMinutes, ParamWarmupMinutes, ParamSeed, ParamGranularity}

// Runner is an ae.StepRunner for azure-trace.
type Runner struct {
	Provider clusters.Provider
	// Base is the cluster asked for; a step sets its node count.
	Base clusters.Spec
	Log  io.Writer
	// replay runs one replay; nil is workloads/replay (tests fake it).
	replay func(context.Context, replay.Experiment) (*replay.Report, error)
}

// settings are a step's params, parsed.
type settings struct {
	traceDir               string
	minutes, warmupMinutes int
	seed                   int64
	granularity            trace.Granularity
}

func parse(p map[string]string) (settings, error) {
	s := settings{traceDir: p[ParamTrace], minutes: 30, warmupMinutes: ae.DefaultTraceWarmupMinutes,
		seed: trace.DefaultSeed, granularity: trace.Minute}
	var errs []error
	for k := range p {
		if !slices.Contains(knownParams, k) {
			errs = append(errs, fmt.Errorf("param %q: unknown (known: %s)", k, strings.Join(knownParams, ", ")))
		}
	}
	atoi := func(key string, dst *int) {
		if v, ok := p[key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("param %s %q: not an integer", key, v))
			}
			*dst = n
		}
	}
	atoi(ParamMinutes, &s.minutes)
	atoi(ParamWarmupMinutes, &s.warmupMinutes)
	if v, ok := p[ParamSeed]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("param %s %q: not an integer", ParamSeed, v))
		}
		s.seed = n
	}
	if v, ok := p[ParamGranularity]; ok {
		s.granularity = trace.Granularity(v)
		if s.granularity != trace.Minute && s.granularity != trace.Second {
			errs = append(errs, fmt.Errorf("param %s %q: want %s or %s", ParamGranularity, v, trace.Minute, trace.Second))
		}
	}
	if s.minutes <= 0 || s.warmupMinutes < 0 || s.warmupMinutes >= s.minutes {
		errs = append(errs, fmt.Errorf("params: %d warm-up columns must be within the %d-column clip", s.warmupMinutes, s.minutes))
	}
	return s, errors.Join(errs...)
}

// Check reports a system without a FaaS front-end, or missing from this
// build, as not available; bad params are an error.
func (r *Runner) Check(s ae.Step) error {
	sys, err := baselines.Get(s.System)
	if err != nil {
		if why := baselines.Refusal(s.System); why != "" {
			return ae.NotAvailable("system %s is refused in this build: %s", s.System, why)
		}
		return ae.NotAvailable("system %s is not built into this kdbench (it has %s)", s.System, strings.Join(baselines.Names(), ", "))
	}
	if _, ok := sys.(replay.FrontEnder); !ok {
		return ae.NotAvailable("system %s has no FaaS front-end to replay a trace through", s.System)
	}
	if _, err := parse(s.Experiment.Params); err != nil {
		return fmt.Errorf("%s: %w", s.ID, err)
	}
	return nil
}

// Run replays the trace Warmup+Reps times per size and returns the step's
// directory, <outDir>/<size>fn/rep<i>/<time>-azure-trace/ holding each
// replay's loader CSV. Warm-up replays are deleted once done, so that the
// evidence sees only measured ones.
func (r *Runner) Run(ctx context.Context, s ae.Step, outDir string) (string, error) {
	sys, err := baselines.Get(s.System)
	if err != nil {
		return "", err
	}
	set, err := parse(s.Experiment.Params)
	if err != nil {
		return "", err
	}
	run := r.replay
	if run == nil {
		run = func(ctx context.Context, e replay.Experiment) (*replay.Report, error) { return e.Run(ctx) }
	}
	log := r.Log
	if log == nil {
		log = io.Discard
	}
	base := r.Base
	base.Nodes = s.Nodes
	measured := false
	var errs error
	for _, size := range s.Experiment.Sizes {
		traceDir, err := r.traceFor(set, size, outDir)
		if err != nil {
			return dirIf(measured, outDir), errors.Join(errs, err)
		}
		for i := range s.Experiment.Warmup + s.Experiment.Reps {
			warm := i < s.Experiment.Warmup
			root := filepath.Join(outDir, fmt.Sprintf("%dfn", size), fmt.Sprintf("rep%d", i-s.Experiment.Warmup))
			if warm {
				root = filepath.Join(outDir, "warmup")
			}
			rep, err := run(ctx, replay.Experiment{Provider: r.Provider, Base: base, Systems: []baselines.System{sys},
				TraceDir: traceDir, Functions: size, Minutes: set.minutes, WarmupMinutes: set.warmupMinutes,
				Seed: set.seed, Granularity: set.granularity, ResultsRoot: root, Log: log})
			if warm {
				errs = errors.Join(errs, os.RemoveAll(root))
			} else if rep != nil && len(rep.Summaries) > 0 {
				measured = true
			}
			if err != nil {
				errs = errors.Join(errs, fmt.Errorf("%d functions, repetition %d: %w", size, i-s.Experiment.Warmup, err))
				if ctx.Err() != nil {
					return dirIf(measured, outDir), errs
				}
			}
		}
	}
	return dirIf(measured, outDir), errs
}

// traceFor returns the trace to replay: the params' directory, or a
// synthetic trace of size functions written under outDir.
func (r *Runner) traceFor(set settings, size int, outDir string) (string, error) {
	if set.traceDir != "" {
		return set.traceDir, nil
	}
	dir := filepath.Join(outDir, "trace", fmt.Sprintf("synth-%dfn-%dcol-seed%d", size, set.minutes, set.seed))
	tr, err := trace.Synth(trace.SynthOptions{Functions: size, Minutes: set.minutes, Seed: set.seed})
	if err != nil {
		return "", fmt.Errorf("synthesising a trace of %d functions: %w", size, err)
	}
	if err := tr.Write(dir); err != nil {
		return "", fmt.Errorf("writing the synthetic trace: %w", err)
	}
	return dir, nil
}

func dirIf(ok bool, dir string) string {
	if ok {
		return dir
	}
	return ""
}
