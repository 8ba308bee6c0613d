package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/baselines"
	_ "github.com/kdbench/kdbench/baselines/dirigent"
	_ "github.com/kdbench/kdbench/baselines/drfaas"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	_ "github.com/kdbench/kdbench/baselines/kd"
	_ "github.com/kdbench/kdbench/baselines/knative"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/cloudlab"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/scrape"
	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/plots"
	"github.com/kdbench/kdbench/workloads/burst"
	"github.com/kdbench/kdbench/workloads/failover"
	"github.com/kdbench/kdbench/workloads/replay"
)

func newRunCmd() *cobra.Command {
	var (
		systems, profiles []string
		cfg               = burst.Config{Base: clusters.Spec{Name: "kdbench-run"}}
		provider, home    string
		metricsAddr       string
		speedups          string
		noPlots, rates    bool
		tf                traceFlags
		fo                failoverFlags
	)
	cmd := &cobra.Command{
		Use:   "run <experiment>",
		Short: "Run an experiment: scale-pods, scale-funcs, scale-nodes, azure-trace or failover",
		Long: `Run brings up a cluster per configuration (local by default), runs each
system's bursts --warmup + --reps times per size, and writes a results
directory (manifest.json, pods.csv, summary.json, selfchecks.json, metrics/,
figures/). Ctrl-C stops the cluster and keeps what was measured.

azure-trace replays a loader trace through each FaaS system's front-end
(kn-k8s, kn-kd by default: real Knative Serving 1.15 over k8s and kd, on the
local cluster, as root; kn-model, kn-model-kd: kdbench's faster model of
Knative's front-end; dirigent, dr-k8s+, dr-kd+ for Fig 13) and writes
loader-format per-invocation CSVs and summaries; there --warmup is in
minutes (default 10) of the --minutes clip.

failover crashes, stalls or cuts each hop during a burst or at steady state
and records recovery time and invariant violations (recovery.csv).`,
		Example: `  kdbench run scale-pods --system k8s,k8s+ --sizes 100,600 --reps 5 --qps-profile tuned
  kdbench run azure-trace --system kn-k8s,kn-kd --trace <dir> --functions 100 --minutes 30 --warmup 10
  kdbench run azure-trace --system kn-model,kn-model-kd --trace <dir> --functions 500 --minutes 30 --warmup 10
  kdbench run azure-trace --system dirigent,dr-k8s+,dr-kd+ --trace <dir> --functions 500 --minutes 30 --warmup 10
  kdbench run failover --system kd,k8s --sizes 100,300 --reps 3 --targets replicaset,scheduler --kinds crash,cut`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			quietGRPC()
			if provider != local.ProviderName && !cmd.Flags().Changed("qps-profile") {
				profiles = []string{""} // the cluster's own: read from it, recorded in the manifest
			}
			if args[0] == replay.ExperimentName || args[0] == failover.Experiment {
				if len(profiles) != 1 {
					return fmt.Errorf("--qps-profile %s: %s runs on one QPS profile", strings.Join(profiles, ","), args[0])
				}
				cfg.Base.QPSProfile = profiles[0]
			}
			if args[0] == replay.ExperimentName {
				return runAzureTrace(cmd, tf, systems, cfg.Warmups, cfg.Base, provider, home, cfg.ResultsRoot, noPlots)
			}
			var err error
			if cfg.Systems, err = baselines.Parse(systems); err != nil {
				return err
			}
			if args[0] == failover.Experiment {
				prov, err := newRunProvider(cmd, provider, home, systems...)
				if err != nil {
					return err
				}
				return runFailover(cmd, fo, systems, cfg.Sizes, cfg.Reps, cfg.Base, prov, cfg.ResultsRoot, noPlots)
			}
			shape, err := burst.LookupShape(args[0])
			if err != nil {
				return err
			}
			for _, p := range profiles {
				if _, ok := local.Profiles[p]; !ok && provider == local.ProviderName {
					return fmt.Errorf("--qps-profile %q: known profiles are %s", p, strings.Join(local.ProfileNames(), ", "))
				}
			}
			cfg.Shape, cfg.QPSProfiles, cfg.Log = shape, profiles, cmd.ErrOrStderr()
			if cfg.Provider, err = newRunProvider(cmd, provider, home, systems...); err != nil {
				return err
			}
			if metricsAddr != "" {
				stop, err := scrape.Serve(metricsAddr)
				if err != nil {
					return err
				}
				defer stop()
			}
			run, err := burst.Run(cmd.Context(), cfg)
			if run == nil {
				return err
			}
			out := cmd.OutOrStdout()
			if terr := results.WriteTable(out, run, nil, stats.DefaultBootstrap); terr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: result table: %v\n", terr)
			} else {
				fmt.Fprintf(out, "percentiles over pods: e2e and Kubedirect stages %s; ClusterLoader2 stages %s\n",
					results.PercentileArtifact, results.PercentileCL2)
			}
			if pairs, perr := results.ParsePairs(speedups); perr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: --speedup: %v\n", perr)
			} else if len(pairs) > 0 {
				var buf strings.Builder
				serr := results.WriteSpeedups(&buf, run, pairs, results.Metric{Name: "e2e", Key: results.KeyPerc90}, stats.DefaultBootstrap)
				switch {
				case serr == nil:
					fmt.Fprint(out, "\n"+buf.String())
				case cmd.Flags().Changed("speedup"):
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: --speedup: %v\n", serr)
				}
			}
			if cfg.Floor {
				var buf strings.Builder
				if ferr := results.WriteOverFloor(&buf, run, results.Metric{Name: "e2e", Key: results.KeyPerc90}, stats.DefaultBootstrap); ferr != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: over-floor table: %v\n", ferr)
				} else {
					fmt.Fprint(out, "\n"+buf.String())
				}
			}
			if rates {
				fmt.Fprintln(out)
				if rerr := results.WriteRates(out, run); rerr != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: --print-rate: %v\n", rerr)
				}
			}
			if !noPlots {
				paths, perr := plots.Render([]*results.Run{run}, plots.Options{OutDir: run.FiguresPath(), Formats: []string{"png", "svg"}, Stat: "p90"})
				if perr != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: figures: %v\n", perr)
				}
				for _, p := range paths {
					fmt.Fprintf(out, "figure: %s\n", p)
				}
			}
			fmt.Fprintf(out, "results: %s\n", run.Dir)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&systems, "system", []string{"k8s"}, "systems under test, comma-separated: "+strings.Join(baselines.Names(), ", "))
	f.IntSliceVar(&cfg.Sizes, "sizes", nil, "burst sizes (default: the experiment's, e.g. 100,200,300,600 pods)")
	f.IntVar(&cfg.Reps, "reps", 5, "measured repetitions per system and size")
	f.IntVar(&cfg.Warmups, "warmup", 1, "warm-up repetitions before them, excluded from statistics (azure-trace: warm-up minutes, default 10)")
	f.StringSliceVar(&profiles, "qps-profile", []string{"default"}, "control-plane QPS profiles to run: "+strings.Join(local.ProfileNames(), ", ")+" (artifact: the Kubedirect artifact's settings, the claims' profile; tuned: client QPS unthrottled; several: default,artifact); on existing and cloudlab the default is the cluster's own, and a profile its control plane contradicts is refused")
	f.IntVar(&cfg.Base.Nodes, "nodes", 80, "simulated nodes (scale-nodes sets its own per size)")
	f.StringVar(&cfg.Base.Name, "cluster-name", "kdbench-run", "name of the cluster the run brings up")
	f.StringVar(&cfg.Base.Kubeconfig, "kubeconfig", "", "kubeconfig, with --provider existing")
	f.StringVar(&provider, "provider", local.ProviderName, providerHelp)
	f.StringVar(&home, "home", "", "directory for local and cloudlab clusters' work directories (default $KDBENCH_HOME or ./.kdbench)")
	f.StringVar(&cfg.ResultsRoot, "results", "results", "directory that receives the run directory")
	f.DurationVar(&cfg.Settle, "settle", 2*time.Second, "quiet time between preparing a burst and starting it")
	f.DurationVar(&cfg.RepTimeout, "rep-timeout", 10*time.Minute, "limit for one burst to reach all-Ready")
	f.StringVar(&metricsAddr, "metrics-addr", "", "serve the harness's own Prometheus metrics here (e.g. 127.0.0.1:9099)")
	f.BoolVar(&noPlots, "no-plots", false, "do not draw figures")
	f.BoolVar(&rates, "print-rate", false, "also print each burst's pods Ready per second (size over time to the last Ready), comparable to Dirigent's cold starts/s")
	f.BoolVar(&cfg.Floor, "floor", true, "also measure this machine's floor (N pod creates and N status writes at unthrottled client QPS) at every size and print each system over it")
	f.IntSliceVar(&cfg.FloorConcurrency, "floor-concurrency", nil, "concurrencies the floor tries, the fastest is used (default 8,32,128)")
	fo.add(f)
	f.StringVar(&speedups, "speedup", "kd/k8s,kd+/k8s+", "system pairs FAST/BASE whose e2e p90 speed-up (BASE/FAST, with CI) is printed when both ran")
	tf.add(cmd)
	return cmd
}

// providerHelp lists the providers a run can use and what each does.
var providerHelp = "cluster provider: " + strings.Join(clusters.Names(), ", ") +
	" (local: a cluster made per configuration; existing: the cluster of --kubeconfig; cloudlab: the cluster `kdbench cluster up --provider cloudlab --name N` bootstrapped, named by --cluster-name). See the README's table of what runs where."

// newRunProvider returns the cluster provider a run uses: local (attached:
// its clusters stop with the run), cloudlab (the cluster bootstrapped under
// --home, kept after the run; the run's systems decide its add-ons) or a
// registered one.
func newRunProvider(cmd *cobra.Command, name, home string, systems ...string) (clusters.Provider, error) {
	switch name {
	case local.ProviderName:
		return local.New(local.Options{Root: home, Attached: true,
			Logf: func(f string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), f+"\n", a...) }}), nil
	case cloudlab.ProviderName:
		return cloudlab.New(cloudlab.Options{Root: home, Progress: cmd.ErrOrStderr(), Systems: systems, Attach: true}), nil
	}
	return clusters.Get(name)
}
