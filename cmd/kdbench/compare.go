package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/collectors/results"
)

func newCompareCmd() *cobra.Command {
	var metric, maxRegression string
	cmd := &cobra.Command{
		Use:   "compare <runA> <runB>",
		Short: "Compare run B against baseline run A; fail if B regressed",
		Long: `Compare prints, for every system, QPS profile and size, the metric's
median over measured repetitions in each run with 95% bootstrap
confidence intervals, and the ratio B/A. It exits with status 1 when B
is slower than A by more than --max-regression in any configuration,
which makes it a CI gate for the microbenchmarks.`,
		Example: "  kdbench compare results/20250101T000000Z-scale-pods results/20250102T000000Z-scale-pods --max-regression 10%",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := results.ParseMetric(metric)
			if err != nil {
				return fmt.Errorf("--metric: %w", err)
			}
			maxReg, err := results.ParseFraction(maxRegression)
			if err != nil {
				return fmt.Errorf("--max-regression: %w", err)
			}
			a, err := results.Open(args[0])
			if err != nil {
				return err
			}
			b, err := results.Open(args[1])
			if err != nil {
				return err
			}
			c, err := results.Compare(a, b, results.CompareOptions{Metric: m, MaxRegression: maxReg})
			if err != nil {
				return err
			}
			if err := c.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			// A *results.RegressionError: main exits non-zero with its message.
			return c.Err()
		},
	}
	cmd.Flags().StringVar(&metric, "metric", "e2e_p90", "metric to compare: <stage>_<p50|p90|p99|max>, stage one of e2e, deployment_ctrl, replicaset_ctrl, scheduler, kubelet, running_to_ready, create_to_schedule, schedule_to_watch, pod_startup")
	cmd.Flags().StringVar(&maxRegression, "max-regression", "10%", "largest tolerated slowdown of B against A, as a percentage (10%) or fraction (0.1)")
	return cmd
}
