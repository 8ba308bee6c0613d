package ae

import (
	"context"
	"errors"
	"fmt"
)

// Step is one experiment of a profile on one system.
type Step struct {
	// ID is "<experiment id>/<system>", unique within a profile.
	ID         string
	Experiment Experiment
	System     string
	// Nodes is the cluster size: the experiment's, else the profile's
	// (scale-nodes sets its own per size).
	Nodes int
}

// Steps lists the profile's steps in order: experiments as listed, each
// with its systems as listed.
func (p *Profile) Steps() []Step {
	var out []Step
	for _, e := range p.Experiments {
		nodes := p.Nodes
		if e.Nodes > 0 {
			nodes = e.Nodes
		}
		for _, sys := range e.Systems {
			out = append(out, Step{ID: e.Key() + "/" + sys, Experiment: e, System: sys, Nodes: nodes})
		}
	}
	return out
}

// StepRunner runs the steps of one experiment.
type StepRunner interface {
	// Check returns nil if this build can run the step, or a
	// *NotAvailableError saying why not (a system not built in, say).
	Check(s Step) error
	// Run runs the step, writing under outDir, and returns the results
	// directory it wrote — also when it fails, if it measured anything.
	Run(ctx context.Context, s Step, outDir string) (resultsDir string, err error)
}

// Registry maps an experiment name to its runner.
type Registry map[string]StepRunner

// NotAvailableError says why a step cannot run in this build; the step is
// reported as not run rather than failed.
type NotAvailableError struct{ Reason string }

func (e *NotAvailableError) Error() string { return e.Reason }

// NotAvailable returns a *NotAvailableError.
func NotAvailable(format string, a ...any) error {
	return &NotAvailableError{Reason: fmt.Sprintf(format, a...)}
}

// Check says whether the registry can run s: nil, a *NotAvailableError, or
// another error from the runner's Check.
func (r Registry) Check(s Step) error {
	run, ok := r[s.Experiment.Name]
	if !ok || run == nil {
		return NotAvailable("experiment %s is not available in this build", s.Experiment.Name)
	}
	return run.Check(s)
}

// IsNotAvailable reports whether err is, or wraps, a *NotAvailableError.
func IsNotAvailable(err error) bool {
	var na *NotAvailableError
	return errors.As(err, &na)
}
