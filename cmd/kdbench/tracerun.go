package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/replay"
)

// traceFlags are run's flags for the azure-trace experiment.
type traceFlags struct {
	dir                string
	functions, minutes int
	seed               int64
	pairs              string
	rules              string
}

func (f *traceFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.dir, "trace", "", "azure-trace: loader trace directory (invocations.csv, durations.csv, memory.csv)")
	fs.IntVar(&f.functions, "functions", 500, "azure-trace: functions to replay (a KS-matched sample if the trace has more)")
	fs.IntVar(&f.minutes, "minutes", 30, "azure-trace: minutes of the trace to replay, warm-up included")
	fs.Int64Var(&f.seed, "seed", 42, "azure-trace: loader seed for sampling and inter-arrival times")
	fs.StringVar(&f.pairs, "ratio", "kn-kd/kn-k8s,kn-model-kd/kn-model,dr-kd+/dirigent,dr-kd+/dr-k8s+",
		"azure-trace: system pairs FAST/BASE whose scheduling-latency ratios are printed when both ran")
	fs.StringVar(&f.rules, "rules", metrics.Artifact.Name, "azure-trace: metric rules of the summaries and figures: "+metrics.RulesNames()+" (docs/metrics.md)")
}

// runAzureTrace is `kdbench run azure-trace`: the paper's Fig 12 replay
// (kn-k8s, kn-kd by default: real Knative Serving on the local cluster;
// kn-model, kn-model-kd, kdbench's model of its front-end) and Fig 13 replay
// (dirigent, dr-k8s+, dr-kd+).
func runAzureTrace(cmd *cobra.Command, f traceFlags, systemNames []string, warmupMinutes int,
	base clusters.Spec, provider, home, resultsRoot string, noPlots bool) error {
	if f.dir == "" {
		return fmt.Errorf("azure-trace: --trace <dir> is required (kdbench trace synth -o <dir> makes one offline)")
	}
	if !cmd.Flags().Changed("system") {
		systemNames = []string{"kn-k8s", "kn-kd"}
	}
	if !cmd.Flags().Changed("warmup") {
		warmupMinutes = 10
	}
	systems, err := baselines.Parse(systemNames)
	if err != nil {
		return err
	}
	rules, err := metrics.ByName(f.rules)
	if err != nil {
		return err
	}
	e := replay.Experiment{Rules: rules, Base: base, Systems: systems, TraceDir: f.dir, Functions: f.functions,
		Minutes: f.minutes, WarmupMinutes: warmupMinutes, Seed: f.seed, ResultsRoot: resultsRoot, Log: cmd.ErrOrStderr()}
	if !noPlots {
		e.Formats = []string{"png", "svg"}
	}
	if e.Provider, err = newRunProvider(cmd, provider, home, systemNames...); err != nil {
		return err
	}
	rep, err := e.Run(cmd.Context())
	if rep == nil {
		return err
	}
	var pairs [][2]string
	for _, p := range strings.Split(f.pairs, ",") {
		if fast, base, ok := strings.Cut(strings.TrimSpace(p), "/"); ok {
			pairs = append(pairs, [2]string{fast, base})
		}
	}
	out := cmd.OutOrStdout()
	replay.WriteTable(out, rep.Summaries, pairs)
	for _, p := range rep.Figures {
		fmt.Fprintf(out, "figure: %s\n", p)
	}
	fmt.Fprintf(out, "results: %s\n", rep.Dir)
	return err
}
