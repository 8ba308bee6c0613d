package failover

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// controlKey is what a fault case shares with its no-fault control: the
// same burst or scale change, timed from the same point.
type controlKey struct {
	sys  string
	size int
	ph   Phase
}

// Controls holds each (system, size, phase)'s no-fault recovery: the
// median over its converged repetitions, the time the remaining work takes
// with no fault at all.
type Controls map[controlKey]time.Duration

// NewControls collects the controls of rows.
func NewControls(rows []Row) Controls {
	by := map[controlKey][]time.Duration{}
	for _, r := range rows {
		if r.Kind == None && r.Status == StatusOK {
			k := controlKey{r.System, r.Size, r.Phase}
			by[k] = append(by[k], r.Recovery())
		}
	}
	out := Controls{}
	for k, ds := range by {
		slices.Sort(ds)
		out[k] = ds[len(ds)/2]
	}
	return out
}

// OverControl is a converged fault case's recovery minus its control's:
// the fault's cost beyond the work that remained anyway (negative: within
// the noise). ok is false without a converged control, or for the control.
func (cs Controls) OverControl(r Row) (time.Duration, bool) {
	if r.Kind == None || r.Status != StatusOK {
		return 0, false
	}
	c, ok := cs[controlKey{r.System, r.Size, r.Phase}]
	if !ok {
		return 0, false
	}
	return r.Recovery() - c, true
}

// WriteCostTable prints the protocol's cost of each fault per system,
// phase, target and kind (a line) and size (a column): the median over
// converged repetitions of the recovery beyond the no-fault control
// ("+d") and, for crashes, of the time from the crash to the restarted
// process ready again with its links resynced ("resync d").
func WriteCostTable(w io.Writer, rows []Row) error {
	type line struct {
		sys    string
		ph     Phase
		target Target
		kind   Kind
	}
	controls := NewControls(rows)
	var lines []line
	var sizes []int
	excess := map[line]map[int][]time.Duration{}
	resync := map[line]map[int][]time.Duration{}
	for _, r := range rows {
		if r.Kind == None {
			continue
		}
		l := line{r.System, r.Phase, r.Target, r.Kind}
		if excess[l] == nil {
			excess[l], resync[l] = map[int][]time.Duration{}, map[int][]time.Duration{}
			lines = append(lines, l)
		}
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
		if d, ok := controls.OverControl(r); ok {
			excess[l][r.Size] = append(excess[l][r.Size], d)
		}
		if r.Status == StatusOK && r.Resync() > 0 {
			resync[l][r.Size] = append(resync[l][r.Size], r.Resync())
		}
	}
	slices.Sort(sizes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "SYSTEM\tPHASE\tTARGET\tKIND")
	for _, n := range sizes {
		fmt.Fprintf(tw, "\t%d PODS: OVER NO-FAULT, RESYNC", n)
	}
	fmt.Fprintln(tw)
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s", l.sys, l.ph, l.target, l.kind)
		for _, n := range sizes {
			c := "-"
			if ds := excess[l][n]; len(ds) > 0 {
				c = signed(median(ds).Round(time.Millisecond))
			}
			if ds := resync[l][n]; len(ds) > 0 {
				c += ", resync " + median(ds).Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "\t%s", c)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func signed(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}
