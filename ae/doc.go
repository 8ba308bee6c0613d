// Package ae is kdbench's one-command artifact evaluation.
//
// A Profile (plain data: profiles/*.yaml, or a user's file) lists the
// experiments, systems, sizes and repetitions to run. A Pipeline turns it
// into steps, one per experiment × system, and runs each through the
// StepRunner registered for its experiment, recording every outcome in
// ae-state.json so that a re-run skips what is finished. A step whose
// experiment or system this build cannot run is recorded as not run, with
// the reason, and never fails the pipeline. Finally the report sets each of
// the paper's claims (Claims) beside what was measured, with a verdict.
//
// The package itself needs no cluster: runners for real experiments live in
// subpackages (ae/burststep for Figs 9–11, ae/tracestep for Figs 12–13,
// ae/failoverstep for failure recovery) and are registered by the command
// line.
package ae
