package ae

import (
	"fmt"
	"io"
	"time"
)

// progress prints the pipeline's overall progress after each step: the
// share of the estimated work done and the time left, with the estimates of
// the remaining steps scaled by how far off the finished ones were.
type progress struct {
	w   io.Writer
	now func() time.Time
	// remaining is the estimate of the steps still to run.
	remaining, total time.Duration
	// estDone and actDone sum the estimates and actual times of the steps
	// run in this invocation.
	estDone, actDone time.Duration
	est              map[string]time.Duration
}

// newProgress counts the steps the registry can run and that are not done
// yet; the others take no time.
func newProgress(w io.Writer, steps []Step, p *Profile, reg Registry, st *State, now func() time.Time) *progress {
	pr := &progress{w: w, now: now, est: map[string]time.Duration{}}
	for _, s := range steps {
		if reg.Check(s) != nil {
			continue
		}
		e := p.Estimate(s)
		pr.est[s.ID] = e
		pr.total += e
		if ss := st.Steps[s.ID]; ss == nil || ss.Status != StatusDone {
			pr.remaining += e
		}
	}
	return pr
}

func (pr *progress) finish(s Step, ss *StepState) {
	e := pr.est[s.ID]
	pr.remaining -= e
	pr.estDone += e
	pr.actDone += ss.Duration.D()
	eta := pr.ETA()
	done := 100.0
	if pr.total > 0 {
		done = 100 * float64(pr.total-pr.remaining) / float64(pr.total)
	}
	fmt.Fprintf(pr.w, "  %s %s in %s (estimate %s); overall %.0f%% done, about %s left\n",
		s.ID, ss.Status, ss.Duration.D().Round(time.Second), e.Round(time.Second), done, eta.Round(time.Second))
}

// ETA is the remaining estimate corrected by the ratio of actual to
// estimated time of the steps run so far.
func (pr *progress) ETA() time.Duration {
	if pr.estDone <= 0 || pr.actDone <= 0 {
		return pr.remaining
	}
	return time.Duration(float64(pr.remaining) * float64(pr.actDone) / float64(pr.estDone))
}
