package results

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kdbench/kdbench/internal/stats"
)

// WriteRates prints, per system, QPS profile and size, the burst's pod
// creation rate: pods Ready per second from the scale request to the last
// Ready (the e2e Count over its Max), median over measured repetitions.
// It is the "+" systems' counterpart of the cold starts per second that
// Dirigent's throughput sweep reports.
func WriteRates(w io.Writer, r *Run) error {
	pd, err := r.Summary()
	if err != nil {
		return err
	}
	counts, err := pd.RepValues(Metric{"e2e", KeyCount})
	if err != nil {
		return err
	}
	maxes, err := pd.RepValues(Metric{"e2e", KeyMax})
	if err != nil {
		return err
	}
	var cfgs []Config
	for c := range counts {
		cfgs = append(cfgs, c)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tQPS\tSIZE\tREPS\tPODS READY/S (MEDIAN)")
	for _, c := range sortedConfigs(cfgs) {
		n, m := counts[c], maxes[c]
		if len(n) != len(m) {
			return fmt.Errorf("results: %s %s size %d: %d e2e counts but %d maxima", c.System, c.QPSProfile, c.Size, len(n), len(m))
		}
		var rates []float64
		for i := range n {
			if m[i] > 0 {
				rates = append(rates, n[i]/(m[i]/1000))
			}
		}
		if len(rates) == 0 {
			continue
		}
		profile := c.QPSProfile
		if profile == "" {
			profile = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\n", c.System, profile, c.Size, len(rates), stats.Median(rates))
	}
	return tw.Flush()
}
