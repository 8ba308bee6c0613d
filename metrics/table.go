package metrics

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"
)

// TableColumns is the header of WriteTable's CSV.
var TableColumns = []string{"system", "metric", "functions", "p50", "p99"}

// figureOrder is the systems' order in Figs 12–13; others follow by name.
var figureOrder = []string{"kn-k8s", "kn-kd", "kn-model", "kn-model-kd", "dirigent", "dr-k8s+", "dr-kd+"}

// WriteTable writes, per system and metric, the number of functions and
// the p50 and p99 over functions of the per-function values, percentiles
// as pandas' default quantile (PercentileRule), to 4 decimals (plot.py
// prints 2). A system whose results leave no function prints empty
// percentiles.
func WriteTable(w io.Writer, rules Rules, sources []*Source, warmupMinutes int) error {
	srcs := slices.Clone(sources)
	rank := func(s string) int {
		if i := slices.Index(figureOrder, s); i >= 0 {
			return i
		}
		return len(figureOrder)
	}
	slices.SortStableFunc(srcs, func(a, b *Source) int {
		if ra, rb := rank(a.System), rank(b.System); ra != rb {
			return ra - rb
		}
		if a.System < b.System {
			return -1
		}
		if a.System > b.System {
			return 1
		}
		return 0
	})
	cw := csv.NewWriter(w)
	if err := cw.Write(TableColumns); err != nil {
		return err
	}
	for _, src := range srcs {
		computed := Compute(rules, src, warmupMinutes)
		for _, m := range Metrics {
			pf := computed[m]
			row := []string{src.System, string(m), strconv.Itoa(len(pf.Functions)), "", ""}
			if len(pf.Functions) > 0 {
				d := Summarize(pf.Values())
				row[3], row[4] = strconv.FormatFloat(d.P50, 'f', 4, 64), strconv.FormatFloat(d.P99, 'f', 4, 64)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
