package results

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kdbench/kdbench/internal/stats"
)

// DefaultTableMetrics are the columns of WriteTable: the paper's e2e
// figure and its tail.
var DefaultTableMetrics = []Metric{{"e2e", KeyPerc50}, {"e2e", KeyPerc90}, {"e2e", KeyPerc99}}

// WriteTable prints one run's results: a row per system, QPS profile and
// size, a column per metric (median over measured repetitions [95% CI]),
// then any harness warnings. It is what `kdbench run` and `make bench`
// show at the end of a run.
func WriteTable(w io.Writer, r *Run, metrics []Metric, boot stats.BootstrapOptions) error {
	if len(metrics) == 0 {
		metrics = DefaultTableMetrics
	}
	pd, err := r.Summary()
	if err != nil {
		return err
	}
	cols := make([]map[Config]Estimate, len(metrics))
	var cfgs []Config
	seen := map[Config]bool{}
	for i, m := range metrics {
		est, err := pd.Estimates(m, boot)
		if err != nil {
			return fmt.Errorf("results: %s: %w", r.Dir, err)
		}
		cols[i] = map[Config]Estimate{}
		for _, e := range est {
			cols[i][e.Config] = e
			if !seen[e.Config] {
				seen[e.Config] = true
				cfgs = append(cfgs, e.Config)
			}
		}
	}
	m := r.Manifest()
	fmt.Fprintf(w, "%s (%s): ms, median over measured repetitions [95%% bootstrap CI]\n", m.Experiment, r.Dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"SYSTEM", "QPS", "SIZE", "REPS"}
	for _, m := range metrics {
		head = append(head, strings.ToUpper(m.String()))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, cfg := range sortedConfigs(cfgs) {
		profile := cfg.QPSProfile
		if profile == "" {
			profile = "-"
		}
		row := []string{cfg.System, profile, fmt.Sprint(cfg.Size), "-"}
		for i := range metrics {
			e, ok := cols[i][cfg]
			if !ok {
				row = append(row, "-")
				continue
			}
			row[3] = fmt.Sprint(len(e.Reps))
			row = append(row, fmt.Sprintf("%.1f [%.1f, %.1f]", e.Median.Point, e.Median.Lo, e.Median.Hi))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.HarnessWarnings() {
		fmt.Fprintf(w, "warning: the harness may have been the bottleneck: %s\n", c)
	}
	return nil
}

func sortedConfigs(cfgs []Config) []Config {
	out := slices.Clone(cfgs)
	slices.SortFunc(out, compareConfigs)
	return out
}
