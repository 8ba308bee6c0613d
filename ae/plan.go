package ae

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WritePlan prints the steps with their estimates and whether this build
// can run them, then the total. It returns the estimate of the steps that
// will run.
func WritePlan(w io.Writer, p *Profile, reg Registry) (time.Duration, error) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "STEP\tSIZES\tREPS\tESTIMATE\tSTATUS\n")
	var runnable, all time.Duration
	for _, s := range p.Steps() {
		est := p.Estimate(s)
		all += est
		status := "will run"
		if err := reg.Check(s); err != nil {
			status = "not run: " + err.Error()
		} else {
			runnable += est
		}
		kind, _ := KindOf(s.Experiment.Name)
		sizes := make([]string, len(s.Experiment.Sizes))
		for i, n := range s.Experiment.Sizes {
			sizes[i] = fmt.Sprint(n)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%d+%d\t%s\t%s\n", s.ID, strings.Join(sizes, ","), kind.SizeUnit,
			s.Experiment.Warmup, s.Experiment.Reps, fmtDuration(est), status)
	}
	if err := tw.Flush(); err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "estimated time: %s for the steps this build runs (%s for the whole profile %s)\n",
		fmtDuration(runnable), fmtDuration(all), p.Name)
	if b := p.Budget.D(); b > 0 && all > b {
		fmt.Fprintf(w, "warning: the whole profile's estimate %s exceeds its budget of %s\n", fmtDuration(all), fmtDuration(b))
	}
	return runnable, nil
}

// fmtDuration rounds to the second, or to the minute above an hour.
func fmtDuration(d time.Duration) string {
	if d >= time.Hour {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}
