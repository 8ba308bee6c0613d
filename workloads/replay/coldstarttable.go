package replay

import (
	"fmt"
	"io"
)

// WriteColdStarts prints each breakdown: the stages' p50/p90/mean in ms
// over the measured scale-ups from zero.
func WriteColdStarts(w io.Writer, sums []Summary) {
	for _, s := range sums {
		b := s.ColdStarts
		if b == nil {
			continue
		}
		fmt.Fprintf(w, "%s cold starts: %d scale-ups from zero measured (%d in warm-up, %d unmatched, %d hop-timed); stage ms p50/p90/mean\n",
			s.System, b.ColdStarts, b.Warmup, b.Unmatched, b.HopTimed)
		for _, st := range b.Stages {
			fmt.Fprintf(w, "  %-22s %-46s %8.1f/%.1f/%.1f  (%d)\n", st.Name, st.Span, st.P50, st.P90, st.Mean, st.N)
		}
	}
}
