package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kdbench/kdbench/internal/stats"
)

// Pair names two systems of one run to set side by side: how many times
// faster Fast is than Base (Kubedirect's kd against k8s, say).
type Pair struct{ Fast, Base string }

// ParsePairs reads "kd/k8s,kd+/k8s+".
func ParsePairs(s string) ([]Pair, error) {
	var out []Pair
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, b, ok := strings.Cut(f, "/")
		if !ok || a == "" || b == "" || a == b {
			return nil, fmt.Errorf("speed-up pair %q: want FAST/BASE, e.g. kd/k8s", f)
		}
		out = append(out, Pair{Fast: a, Base: b})
	}
	return out, nil
}

// WriteSpeedups prints, per pair, QPS profile and size, the metric's median
// over repetitions for both systems and Base/Fast (the speed-up) with its
// bootstrap interval. Configurations one side lacks are skipped.
func WriteSpeedups(w io.Writer, r *Run, pairs []Pair, m Metric, boot stats.BootstrapOptions) error {
	pd, err := r.Summary()
	if err != nil {
		return err
	}
	vals, err := pd.RepValues(m)
	if err != nil {
		return err
	}
	type key struct {
		profile string
		size    int
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SPEED-UP\tQPS\tSIZE\t%s FAST\t%s BASE\tBASE/FAST [95%% CI]\n", strings.ToUpper(m.String()), strings.ToUpper(m.String()))
	rows := 0
	for _, p := range pairs {
		var keys []key
		for c := range vals {
			if c.System == p.Fast {
				if _, ok := vals[Config{p.Base, c.QPSProfile, c.Size}]; ok {
					keys = append(keys, key{c.QPSProfile, c.Size})
				}
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].profile != keys[j].profile {
				return keys[i].profile < keys[j].profile
			}
			return keys[i].size < keys[j].size
		})
		for _, k := range keys {
			fast, base := vals[Config{p.Fast, k.profile, k.size}], vals[Config{p.Base, k.profile, k.size}]
			iv, err := stats.BootstrapRatio(fast, base, stats.Median, boot)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s/%s\t%s\t%d\t%.1f\t%.1f\t%.2fx [%.2f, %.2f]\n", p.Fast, p.Base, k.profile, k.size,
				stats.Median(fast), stats.Median(base), iv.Point, iv.Lo, iv.Hi)
			rows++
		}
	}
	if rows == 0 {
		return fmt.Errorf("no configuration has both systems of %v", pairs)
	}
	return tw.Flush()
}
