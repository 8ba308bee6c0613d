package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/plots"
	"github.com/kdbench/kdbench/workloads/failover"
)

func newPlotCmd() *cobra.Command {
	var out, formats, stat string
	cmd := &cobra.Command{
		Use:   "plot <run-dir>...",
		Short: "Draw the figures of one or more results directories",
		Long: `Plot draws, per experiment, the end-to-end latency figure (Fig 9 for
scale-pods, Fig 10 for scale-funcs, Fig 11 for scale-nodes; one line per
system, error bars from 95% bootstrap intervals over repetitions) and a
stacked per-stage breakdown. Runs of the same experiment share figures.
A failover run gets one recovery-time panel per failed hop.
It needs no cluster: everything comes from the results directories.`,
		Example: "  kdbench plot results/20250101T000000Z-scale-pods\n  kdbench plot results/*-scale-pods -o figures --format png,svg,pdf",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmts, err := plots.ParseFormats(formats)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			var runs []*results.Run
			for _, dir := range args {
				r, err := results.Open(dir)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			if out == "" {
				if len(runs) > 1 {
					return fmt.Errorf("plotting %d runs together: say where the figures go with -o", len(runs))
				}
				out = runs[0].FiguresPath()
			}
			var bursts []*results.Run
			var paths []string
			for _, r := range runs {
				if r.Manifest().Experiment != failover.Experiment {
					bursts = append(bursts, r)
					continue
				}
				rows, err := failover.LoadRows(r.Dir)
				if err != nil {
					return err
				}
				ps, err := saveRecoveryFigures(rows, out, fmts)
				paths = append(paths, ps...)
				if err != nil {
					return err
				}
			}
			if len(bursts) > 0 {
				ps, rerr := plots.Render(bursts, plots.Options{OutDir: out, Formats: fmts, Stat: stat})
				paths, err = append(paths, ps...), rerr
			}
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			if err != nil {
				return err
			}
			for _, r := range runs {
				if r.Crashed() {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s did not finish; plotted the repetitions it completed\n", r.Dir)
				}
				for _, w := range r.HarnessWarnings() {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s: harness self-check: %s\n", r.Dir, w)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "directory for the figures (default: <run-dir>/figures for a single run)")
	cmd.Flags().StringVar(&formats, "format", "png,svg", "comma-separated image formats: png, svg, pdf")
	cmd.Flags().StringVar(&stat, "stat", "p90", "per-repetition percentile over pods to plot: p50, p90, p99 or max")
	return cmd
}
