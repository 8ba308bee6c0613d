package ae

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Pipeline runs a profile's steps into an output directory, resumably.
type Pipeline struct {
	Profile *Profile
	// Out is the output directory: ae-state.json, results/, the report.
	Out     string
	Runners Registry
	// Restart runs every step again, ignoring the recorded state. Earlier
	// results directories stay on disk; the state stops pointing at them.
	Restart bool
	// Log receives the plan and the progress lines.
	Log io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ResultsDir is where, under the output directory, steps write.
const ResultsDir = "results"

// StepDir is the directory, relative to the output directory, under which
// a step's runner writes.
func StepDir(s Step) string {
	return filepath.Join(ResultsDir, strings.ReplaceAll(s.ID, "/", "_"))
}

// Run runs every step not yet done and returns the state. A step that
// fails is recorded and the others still run; a step this build cannot run
// is recorded as not run. The state is saved after each step, so a crash or
// Ctrl-C loses at most the step in progress, and the next Run resumes.
// The error lists the failed steps, or is the context's on interruption.
func (p *Pipeline) Run(ctx context.Context) (*State, error) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	log := p.Log
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(p.Out, 0o755); err != nil {
		return nil, err
	}
	st, found, err := LoadState(p.Out)
	if err != nil {
		return nil, err
	}
	digest := p.Profile.Digest()
	if found && !p.Restart && st.ProfileDigest != digest {
		return nil, fmt.Errorf("%s was made by another profile (%s, digest %s; this is %s, digest %s): use another --out, or --restart to run everything again here",
			p.Out, st.Profile, st.ProfileDigest, p.Profile.Name, digest)
	}
	if p.Restart {
		st = &State{Version: StateVersion, Steps: map[string]*StepState{}}
	}
	st.Profile, st.ProfileDigest = p.Profile.Name, digest
	if err := p.Profile.save(p.Out); err != nil {
		return nil, err
	}

	steps := p.Profile.Steps()
	prog := newProgress(log, steps, p.Profile, p.Runners, st, now)
	var failed []string
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("interrupted before %s (re-run the same command to resume): %w", s.ID, err)
		}
		prev := st.Steps[s.ID]
		if prev != nil && prev.Status == StatusDone {
			fmt.Fprintf(log, "[%d/%d] %s: done earlier (%s), skipped\n", i+1, len(steps), s.ID, prev.Duration.D().Round(time.Second))
			continue
		}
		est := p.Profile.Estimate(s)
		if cerr := p.Runners.Check(s); cerr != nil {
			ss := &StepState{Status: StatusNotRun, Estimate: Duration(est), Error: cerr.Error()}
			if !IsNotAvailable(cerr) {
				ss.Status = StatusFailed
				failed = append(failed, s.ID)
			}
			st.Steps[s.ID] = ss
			if err := st.Save(p.Out); err != nil {
				return st, err
			}
			fmt.Fprintf(log, "[%d/%d] %s: %s: %s\n", i+1, len(steps), s.ID, ss.Status, cerr)
			continue
		}
		fmt.Fprintf(log, "[%d/%d] %s: running (estimate %s)\n", i+1, len(steps), s.ID, est.Round(time.Second))
		ss, err := p.runStep(ctx, st, s, est, now)
		if err != nil {
			return st, err
		}
		if ss.Status == StatusFailed {
			failed = append(failed, s.ID)
		}
		prog.finish(s, ss)
		if ss.Status == StatusFailed && ctx.Err() != nil {
			kept := "nothing was measured yet"
			if ss.ResultsDir != "" {
				kept = "what it measured is kept in " + ss.ResultsDir
			}
			return st, fmt.Errorf("interrupted during %s (%s; re-run the same command to resume): %w", s.ID, kept, ctx.Err())
		}
	}
	if len(failed) > 0 {
		return st, fmt.Errorf("%d step(s) failed: %s (see %s; a re-run retries them)", len(failed), strings.Join(failed, ", "), filepath.Join(p.Out, StateFile))
	}
	return st, nil
}

// runStep runs one step, saving the state before (the step is running)
// and after (its outcome). The error is only for a state that cannot be
// saved; the step's own failure is in the returned record.
func (p *Pipeline) runStep(ctx context.Context, st *State, s Step, est time.Duration, now func() time.Time) (*StepState, error) {
	stepRoot := filepath.Join(p.Out, StepDir(s))
	ss := &StepState{Status: StatusRunning, Started: now().UTC(), Estimate: Duration(est), Earlier: earlier(p.Out, stepRoot, st.Steps[s.ID])}
	st.Steps[s.ID] = ss
	if err := st.Save(p.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stepRoot, 0o755); err != nil {
		return nil, err
	}
	dir, err := p.Runners[s.Experiment.Name].Run(ctx, s, stepRoot)
	if dir != "" {
		dir = relTo(p.Out, dir)
	}
	ss.ResultsDir, ss.Duration, ss.Status = dir, Duration(now().Sub(ss.Started)), StatusDone
	if err != nil {
		ss.Status, ss.Error = StatusFailed, err.Error()
	}
	return ss, st.Save(p.Out)
}

// earlier lists what earlier attempts of a step left: the directories its
// record names, and any other directory under the step's root (an attempt
// that crashed before its record was written).
func earlier(out, stepRoot string, prev *StepState) []string {
	var dirs []string
	if prev != nil {
		dirs = append(dirs, prev.Earlier...)
		if prev.ResultsDir != "" && !slices.Contains(dirs, prev.ResultsDir) {
			dirs = append(dirs, prev.ResultsDir)
		}
	}
	ents, _ := os.ReadDir(stepRoot)
	for _, e := range ents {
		if rel := relTo(out, filepath.Join(stepRoot, e.Name())); e.IsDir() && !slices.Contains(dirs, rel) {
			dirs = append(dirs, rel)
		}
	}
	return dirs
}

// ErrInterrupted reports whether err came from a cancelled context.
func ErrInterrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
