package results

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kdbench/kdbench/internal/stats"
)

// CompareOptions says what to compare and when B counts as a regression.
type CompareOptions struct {
	// Metric is compared per configuration; e.g. e2e Perc90.
	Metric Metric
	// MaxRegression is the largest tolerated slowdown as a fraction: with
	// 0.10, B may be up to 10 % slower than A (ratio B/A ≤ 1.10).
	MaxRegression float64
	Boot          stats.BootstrapOptions
}

// ComparisonRow is one configuration's comparison.
type ComparisonRow struct {
	Config
	// A and B are medians over measured repetitions with intervals.
	A, B         stats.Interval
	RepsA, RepsB int
	// Ratio is B/A with an interval from resampling both runs.
	Ratio     stats.Interval
	Regressed bool
	// Only is "A" or "B" when the configuration was measured in one run
	// only; the other fields are then partly empty.
	Only string
}

// Comparison is the outcome of comparing run B against baseline run A.
type Comparison struct {
	A, B          string
	Metric        Metric
	MaxRegression float64
	Rows          []ComparisonRow
	// Warnings are harness self-checks that failed in either run.
	Warnings []string
}

// RegressionError is returned by Comparison.Err when B is slower than A
// beyond the threshold; the CLI maps it to a non-zero exit (the CI gate).
type RegressionError struct {
	Metric        Metric
	MaxRegression float64
	Rows          []ComparisonRow
}

func (e *RegressionError) Error() string {
	var parts []string
	for _, r := range e.Rows {
		parts = append(parts, fmt.Sprintf("%s %.3g× (%.4g → %.4g ms)", r.Config, r.Ratio.Point, r.A.Point, r.B.Point))
	}
	return fmt.Sprintf("regression: %s is more than %s slower in %d configuration(s): %s",
		e.Metric, formatPercent(e.MaxRegression), len(e.Rows), strings.Join(parts, "; "))
}

// Compare compares run b against baseline run a. Runs of different
// experiments or different systems are an error, as is a pair with no
// configuration in common.
func Compare(a, b *Run, opts CompareOptions) (*Comparison, error) {
	if opts.MaxRegression < 0 || math.IsNaN(opts.MaxRegression) {
		return nil, fmt.Errorf("compare: max regression %v must not be negative", opts.MaxRegression)
	}
	ma, mb := a.Manifest(), b.Manifest()
	if ma.Experiment != mb.Experiment {
		return nil, fmt.Errorf("compare: %s is experiment %q but %s is %q; only runs of the same experiment compare", a.Dir, ma.Experiment, b.Dir, mb.Experiment)
	}
	estA, err := runEstimates(a, opts)
	if err != nil {
		return nil, err
	}
	estB, err := runEstimates(b, opts)
	if err != nil {
		return nil, err
	}
	if sa, sb := systemsOf(estA), systemsOf(estB); !slices.Equal(sa, sb) {
		return nil, fmt.Errorf("compare: %s measured systems %v but %s measured %v; compare runs of the same systems", a.Dir, sa, b.Dir, sb)
	}

	c := &Comparison{A: a.Dir, B: b.Dir, Metric: opts.Metric, MaxRegression: opts.MaxRegression}
	byCfg := map[Config]*ComparisonRow{}
	var cfgs []Config
	for _, e := range estA {
		byCfg[e.Config] = &ComparisonRow{Config: e.Config, A: e.Median, RepsA: len(e.Reps), Only: "A"}
		cfgs = append(cfgs, e.Config)
	}
	repsA := map[Config][]float64{}
	for _, e := range estA {
		repsA[e.Config] = e.Reps
	}
	common := 0
	for _, e := range estB {
		row := byCfg[e.Config]
		if row == nil {
			row = &ComparisonRow{Config: e.Config, Only: "B"}
			byCfg[e.Config] = row
			cfgs = append(cfgs, e.Config)
		} else {
			row.Only = ""
			common++
			ratio, err := stats.BootstrapRatio(repsA[e.Config], e.Reps, stats.Median, opts.Boot)
			if err != nil {
				return nil, fmt.Errorf("compare: %s: %w", e.Config, err)
			}
			row.Ratio = ratio
			row.Regressed = ratio.Point > 1+opts.MaxRegression
		}
		row.B, row.RepsB = e.Median, len(e.Reps)
	}
	if common == 0 {
		return nil, fmt.Errorf("compare: %s and %s have no configuration (system, QPS profile, size) with successful measured repetitions in common", a.Dir, b.Dir)
	}
	slices.SortFunc(cfgs, compareConfigs)
	for _, cfg := range cfgs {
		c.Rows = append(c.Rows, *byCfg[cfg])
	}
	for _, run := range []*Run{a, b} {
		for _, w := range run.HarnessWarnings() {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %s", run.Dir, w))
		}
	}
	return c, nil
}

func runEstimates(r *Run, opts CompareOptions) ([]Estimate, error) {
	pd, err := r.Summary()
	if err != nil {
		return nil, err
	}
	est, err := pd.Estimates(opts.Metric, opts.Boot)
	if err != nil {
		return nil, fmt.Errorf("compare: %s: %w", r.Dir, err)
	}
	return est, nil
}

func systemsOf(est []Estimate) []string {
	var out []string
	for _, e := range est {
		if !slices.Contains(out, e.System) {
			out = append(out, e.System)
		}
	}
	slices.Sort(out)
	return out
}

// Regressions returns the rows where B is slower than allowed.
func (c *Comparison) Regressions() []ComparisonRow {
	var out []ComparisonRow
	for _, r := range c.Rows {
		if r.Regressed {
			out = append(out, r)
		}
	}
	return out
}

// Err is a *RegressionError if any configuration regressed, else nil.
func (c *Comparison) Err() error {
	if reg := c.Regressions(); len(reg) > 0 {
		return &RegressionError{Metric: c.Metric, MaxRegression: c.MaxRegression, Rows: reg}
	}
	return nil
}

// WriteTable prints the side-by-side table.
func (c *Comparison) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "A: %s\nB: %s\n", c.A, c.B)
	fmt.Fprintf(w, "%s in ms: median over repetitions [95%% bootstrap CI]; regression if B/A > %.2f\n", c.Metric, 1+c.MaxRegression)
	if rule := percentileRuleOf(c.Metric.Name); rule != "" && c.Metric.Key != KeyMax {
		fmt.Fprintf(w, "percentiles over pods: %s\n", rule)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tQPS\tSIZE\tA\tB\tB/A\tVERDICT")
	for _, r := range c.Rows {
		a, b, ratio, verdict := interval(r.A, r.RepsA), interval(r.B, r.RepsB), "-", "ok"
		switch {
		case r.Only == "A":
			b, verdict = "-", "only in A"
		case r.Only == "B":
			a, verdict = "-", "only in B"
		default:
			ratio = fmt.Sprintf("%.2f [%.2f, %.2f]", r.Ratio.Point, r.Ratio.Lo, r.Ratio.Hi)
			if r.Regressed {
				verdict = "REGRESSION"
			}
		}
		profile := r.QPSProfile
		if profile == "" {
			profile = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.System, profile, r.Size, a, b, ratio, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(w, "warning: harness self-check: %s\n", warn)
	}
	return nil
}

func interval(iv stats.Interval, reps int) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f] n=%d", iv.Point, iv.Lo, iv.Hi, reps)
}

// ParseFraction parses a threshold written as "10%" or "0.1".
func ParseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("threshold %q: want a percentage such as 10%% or a fraction such as 0.1", s)
	}
	if pct {
		v /= 100
	}
	if v < 0 {
		return 0, fmt.Errorf("threshold %q must not be negative", s)
	}
	return v, nil
}

func formatPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'g', -1, 64) + "%"
}
