package failover

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// WriteTable prints recovery time per system, phase, target and kind (a
// line) and size (a column): the median over reps that converged cleanly,
// with how many broke an invariant or failed, or "skipped".
func WriteTable(w io.Writer, rows []Row) error {
	type line struct {
		sys    string
		ph     Phase
		target Target
		kind   Kind
	}
	var lines []line
	var sizes []int
	cells := map[line]map[int][]Row{}
	for _, r := range rows {
		l := line{r.System, r.Phase, r.Target, r.Kind}
		if cells[l] == nil {
			cells[l] = map[int][]Row{}
			lines = append(lines, l)
		}
		cells[l][r.Size] = append(cells[l][r.Size], r)
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
	}
	slices.Sort(sizes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "SYSTEM\tPHASE\tTARGET\tKIND")
	for _, n := range sizes {
		fmt.Fprintf(tw, "\t%d PODS", n)
	}
	fmt.Fprintln(tw)
	for _, l := range lines {
		target := string(l.target)
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s", l.sys, l.ph, target, l.kind)
		for _, n := range sizes {
			fmt.Fprintf(tw, "\t%s", cell(cells[l][n]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func cell(rows []Row) string {
	if len(rows) == 0 {
		return "-"
	}
	var ok []time.Duration
	bad, skipped := 0, 0
	for _, r := range rows {
		switch r.Status {
		case StatusOK:
			ok = append(ok, r.Recovery())
		case StatusSkipped:
			skipped++
		default:
			bad++
		}
	}
	if skipped == len(rows) {
		return "skipped"
	}
	s := "-"
	if len(ok) > 0 {
		slices.Sort(ok)
		s = ok[len(ok)/2].Round(time.Millisecond).String()
		if len(ok) > 1 {
			s += " (n=" + strconv.Itoa(len(ok)) + ")"
		}
	}
	if bad > 0 {
		s += fmt.Sprintf(" [%d/%d violated or failed]", bad, len(rows))
	}
	return s
}
