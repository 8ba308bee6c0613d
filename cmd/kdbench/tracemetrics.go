package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/metrics"
)

func newTraceMetricsCmd() *cobra.Command {
	var rulesName string
	warmup := ae.DefaultTraceWarmupMinutes
	c := &cobra.Command{
		Use:   "metrics <file or dir>",
		Short: "Print per-system per-function slowdown and scheduling latency p50/p99 as CSV, as the artifact's plot.py computes them",
		Long: `metrics reads loader-format result CSVs (kdbench's replay writes them too)
and the Kubedirect artifact's trace logs and results tree, and prints
system,metric,functions,p50,p99: per system the number of functions and the
p50 and p99 over functions of the per-function slowdown and mean scheduling
latency (ms). Percentiles are pandas' default (linear interpolation), as the
artifact's plot.py prints them. A file's system is its artifact name
(k8s.500.csv is Kn/K8s, kd.500.log Kn/Kd, k8s+ Dr/K8s+, kd+ Dr/Kd+, dirigent),
its directory's name or its name before _duration_. The rules are
docs/metrics.md's: artifact (plot.py, the default) or dirigent (Dirigent's
script, geometric mean).`,
		Example: `  kdbench trace metrics experiments/trace/results
  kdbench trace metrics results/ae-20260101T120000Z --rules dirigent`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rules, err := metrics.ByName(rulesName)
			if err != nil {
				return err
			}
			ev, err := ae.EvidenceFromDir(args[0])
			if err != nil {
				return err
			}
			for _, w := range ev.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			var srcs []*metrics.Source
			var files []string
			for _, s := range ev.Traces {
				srcs = append(srcs, s)
				files = append(files, s.Files...)
			}
			if len(srcs) == 0 {
				return fmt.Errorf("%s: no trace results (loader CSVs, or the artifact's <sys>.<n>.csv|log)", args[0])
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rules: %s; warm-up: %d minutes; percentiles: %s; files: %s\n",
				rules, warmup, metrics.PercentileRule, strings.Join(files, ", "))
			return metrics.WriteTable(cmd.OutOrStdout(), rules, srcs, warmup)
		},
	}
	c.Flags().StringVar(&rulesName, "rules", metrics.Artifact.Name, "metric rules: "+metrics.RulesNames())
	c.Flags().IntVar(&warmup, "warmup", warmup, "warm-up minutes dropped (min<m>./sec<s>. IDs below it; log TS below 60·it s); a kdbench replay's CSV uses the warm-up its summary records")
	return c
}
