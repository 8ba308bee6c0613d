package main

import (
	"fmt"
	"os"
	"os/signal"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/workloads/trace"
)

func newTraceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Inspect, expand, sample, synthesise and fetch InVitro-loader traces",
		Long: "Traces are InVitro loader directories (invocations.csv, durations.csv, memory.csv).\n" +
			"Schedules generated here are identical to the loader's for the same trace, seed and options.",
	}
	cmd.AddCommand(newTraceInspectCmd(), newTracePlanCmd(), newTraceSampleCmd(), newTraceSynthCmd(), newTraceFetchCmd(), newTraceMetricsCmd())
	return cmd
}

func newTraceInspectCmd() *cobra.Command {
	var minutes int
	c := &cobra.Command{
		Use:   "inspect <dir>",
		Short: "Validate a trace directory and summarise it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := trace.Load(args[0])
			if err != nil {
				return err
			}
			return trace.Summarize(tr, minutes).Print(cmd.OutOrStdout())
		},
	}
	c.Flags().IntVar(&minutes, "minutes", 0, "window to summarise (0 = all columns)")
	return c
}

func newTracePlanCmd() *cobra.Command {
	opts := trace.DefaultOptions()
	var iat, granularity string
	c := &cobra.Command{
		Use:   "plan <dir>",
		Short: "Print the generated per-invocation schedule as CSV (hashFunction,index,iatUs,runtimeMs,memoryMiB)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := trace.Load(args[0])
			if err != nil {
				return err
			}
			opts.IAT, opts.Granularity = trace.IATDistribution(iat), trace.Granularity(granularity)
			g, err := trace.NewGenerator(tr, opts)
			if err != nil {
				return err
			}
			return trace.WritePlan(cmd.OutOrStdout(), g)
		},
	}
	c.Flags().IntVar(&opts.Minutes, "minutes", opts.Minutes, "trace columns to expand (the loader's ExperimentDuration + WarmupDuration)")
	c.Flags().Int64Var(&opts.Seed, "seed", opts.Seed, "random seed (the loader configs use 42)")
	c.Flags().StringVar(&iat, "iat", string(opts.IAT), "inter-arrival distribution: exponential, exponential_shift, uniform, uniform_shift, equidistant")
	c.Flags().StringVar(&granularity, "granularity", string(opts.Granularity), "what a trace column is: minute or second")
	return c
}

func newTraceSampleCmd() *cobra.Command {
	opts := trace.SampleOptions{Functions: 500, Seed: trace.DefaultSeed}
	var out string
	c := &cobra.Command{
		Use:   "sample <dir> -o <dir>",
		Short: "Sample functions from a trace, preserving rate, duration and memory distributions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := trace.Load(args[0])
			if err != nil {
				return err
			}
			s, rep, err := trace.Sample(tr, opts)
			if err != nil {
				return err
			}
			if err := s.Write(out); err != nil {
				return err
			}
			return rep.Print(cmd.OutOrStdout())
		},
	}
	c.Flags().IntVar(&opts.Functions, "functions", opts.Functions, "number of functions to keep")
	c.Flags().Int64Var(&opts.Seed, "seed", opts.Seed, "random seed")
	c.Flags().IntVar(&opts.Minutes, "minutes", 0, "window whose invocation rate to preserve (0 = all columns)")
	c.Flags().IntVar(&opts.Trials, "trials", 16, "candidate samples to compare")
	c.Flags().BoolVar(&opts.KeepIdle, "keep-idle", false, "also sample functions without invocations in the window")
	c.Flags().StringVarP(&out, "output", "o", "", "output trace directory")
	_ = c.MarkFlagRequired("output")
	return c
}

func newTraceSynthCmd() *cobra.Command {
	opts := trace.SynthOptions{Functions: 500, Minutes: 30, Seed: trace.DefaultSeed}
	var out string
	c := &cobra.Command{
		Use:   "synth -o <dir>",
		Short: "Write a synthetic Azure-2019-shaped trace (offline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tr, err := trace.Synth(opts)
			if err != nil {
				return err
			}
			if err := tr.Write(out); err != nil {
				return err
			}
			return trace.Summarize(tr, 0).Print(cmd.OutOrStdout())
		},
	}
	c.Flags().IntVar(&opts.Functions, "functions", opts.Functions, "number of functions")
	c.Flags().IntVar(&opts.Minutes, "minutes", opts.Minutes, "number of minute columns")
	c.Flags().Int64Var(&opts.Seed, "seed", opts.Seed, "random seed")
	c.Flags().StringVarP(&out, "output", "o", "", "output trace directory")
	_ = c.MarkFlagRequired("output")
	return c
}

func newTraceFetchCmd() *cobra.Command {
	var opts trace.FetchOptions
	c := &cobra.Command{
		Use:   "fetch -o <dir>",
		Short: "Download, verify and unpack the Azure Functions 2019 dataset and convert one day to a loader trace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			opts.Log = cmd.ErrOrStderr()
			res, err := trace.Fetch(ctx, opts)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "archive\t%s\nsha256\t%s\nraw\t%s (%d days)\ntrace\t%s (%d of %d functions of day %d)\n",
				res.Archive, res.SHA256, res.RawDir, res.Days, res.TraceDir, res.Converted.Kept, res.Converted.Rows, max(opts.Day, 1))
			return w.Flush()
		},
	}
	c.Flags().StringVarP(&opts.Dir, "output", "o", "", "output directory")
	c.Flags().StringVar(&opts.URL, "url", trace.DatasetURL, "archive URL")
	c.Flags().StringVar(&opts.Archive, "archive", "", "use this local copy of the archive instead of downloading")
	c.Flags().IntVar(&opts.Day, "day", 1, "dataset day to convert (1-12)")
	c.Flags().DurationVar(&opts.ConnectTimeout, "connect-timeout", 0, "bound on connecting and waiting for the response headers (default 15s)")
	_ = c.MarkFlagRequired("output")
	return c
}
