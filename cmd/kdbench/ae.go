package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/ae/burststep"
	"github.com/kdbench/kdbench/ae/failoverstep"
	"github.com/kdbench/kdbench/ae/tracestep"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/failover"
	"github.com/kdbench/kdbench/workloads/replay"
)

func newAECmd() *cobra.Command {
	var (
		profile, out, fromResults string
		provider, home            string
		restart, dryRun           bool
		base                      = clusters.Spec{Name: "kdbench-ae"}
		settle, repTimeout        time.Duration
		rulesName                 string
		hold, caseTimeout         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ae",
		Short: "Artifact evaluation: run a profile's experiments and write the claims report",
		Long: `ae runs every experiment × system of a profile (kick-the-tires: all
figures at small scale on the local cluster in about 30 minutes; full: the
paper's sizes for an 80-node cluster; or a YAML file), draws the figures and
writes report.md and report.html: each claim of the paper beside what was
measured, with a verdict. It prints the plan with a runtime estimate per step
first. Finished steps are recorded in <out>/ae-state.json and skipped when the
same command runs again (--restart runs them all); Ctrl-C keeps what was
measured. A step whose experiment or system this build lacks is reported as
not run. --from-results rebuilds the figures and the report from an earlier
output directory, or from any directory of results and loader-format CSVs,
without a cluster.`,
		Example: `  kdbench ae --profile kick-the-tires
  kdbench ae --profile full --provider existing --kubeconfig ~/.kube/config --dry-run
  kdbench ae --profile full --provider cloudlab --cluster-name kdbench
  kdbench ae --from-results results/ae-20260101T120000Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			quietGRPC()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			rules, err := metrics.ByName(rulesName)
			if err != nil {
				return err
			}
			if fromResults != "" {
				rep, err := ae.FromResults(fromResults, ae.ReportOptions{Out: out, Rules: rules})
				if err != nil {
					return err
				}
				printReport(stdout, rep, firstNonEmpty(out, fromResults))
				return nil
			}
			p, err := ae.LoadProfile(profile)
			if err != nil {
				return err
			}
			if provider == local.ProviderName {
				if err := checkQPSProfiles(p); err != nil {
					return err
				}
			}
			reg := ae.Registry{}
			runner := burststep.Runner{Base: base, Settle: settle, RepTimeout: repTimeout, Log: stderr}
			if runner.Provider, err = newRunProvider(cmd, provider, home, ae.Systems...); err != nil {
				return err
			}
			burststep.Register(reg, runner)
			reg[replay.ExperimentName] = &tracestep.Runner{Provider: runner.Provider, Base: base, Log: stderr}
			reg[failover.Experiment] = &failoverstep.Runner{Provider: runner.Provider, Base: base, Hold: hold, CaseTimeout: caseTimeout, Log: stderr}
			fmt.Fprintf(stdout, "profile %s: %s\n", p.Name, p.Description)
			if _, err := ae.WritePlan(stdout, p, reg); err != nil {
				return err
			}
			if dryRun {
				return nil
			}
			if out == "" {
				out = filepath.Join("results", "ae-"+time.Now().UTC().Format("20060102T150405Z"))
			}
			fmt.Fprintf(stdout, "output: %s (to resume after an interruption: kdbench ae --profile %s --out %s)\n", out, profile, out)
			pl := &ae.Pipeline{Profile: p, Out: out, Runners: reg, Restart: restart, Log: stdout}
			st, runErr := pl.Run(cmd.Context())
			if st == nil || ae.ErrInterrupted(runErr) {
				return runErr
			}
			rep, err := ae.WriteReport(ae.EvidenceFromState(out, st, p), ae.ReportOptions{Out: out, Source: out, Profile: p, State: st, Rules: rules})
			if err != nil {
				return fmt.Errorf("%w (steps: %v)", err, runErr)
			}
			printReport(stdout, rep, out)
			return runErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "kick-the-tires", "built-in profile ("+strings.Join(ae.ProfileNames(), ", ")+") or a profile YAML file")
	f.StringVar(&out, "out", "", "output directory (default results/ae-<UTC time>; with --from-results, the directory read)")
	f.BoolVar(&restart, "restart", false, "run every step again, even those recorded as done in <out>/ae-state.json")
	f.StringVar(&fromResults, "from-results", "", "rebuild figures and report from this directory, without a cluster")
	f.StringVar(&rulesName, "rules", metrics.Artifact.Name, "trace metric rules for figures and claims: "+metrics.RulesNames()+" (docs/metrics.md)")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and its runtime estimate, run nothing")
	f.StringVar(&provider, "provider", local.ProviderName, providerHelp)
	f.StringVar(&home, "home", "", "directory for local and cloudlab clusters' work directories (default $KDBENCH_HOME or ./.kdbench)")
	f.StringVar(&base.Kubeconfig, "kubeconfig", "", "kubeconfig, with --provider existing")
	f.StringVar(&base.Name, "cluster-name", base.Name, "name of the clusters the steps bring up (cloudlab: the name it was bootstrapped under)")
	f.DurationVar(&settle, "settle", 2*time.Second, "quiet time between preparing a burst and starting it")
	f.DurationVar(&repTimeout, "rep-timeout", 10*time.Minute, "limit for one burst to reach all-Ready")
	f.DurationVar(&hold, "hold", 2*time.Second, "failover: how long a cut or a stall lasts")
	f.DurationVar(&caseTimeout, "case-timeout", 5*time.Minute, "failover: limit of each wait in a case (convergence, scale to zero)")
	return cmd
}

// checkQPSProfiles rejects, before anything runs, a QPS profile the local
// cluster does not have.
func checkQPSProfiles(p *ae.Profile) error {
	for _, e := range p.Experiments {
		for _, q := range e.QPSProfiles {
			if _, ok := local.Profiles[q]; !ok {
				return fmt.Errorf("profile %s, experiment %s: QPS profile %q: the local cluster has %s", p.Name, e.Key(), q, strings.Join(local.ProfileNames(), ", "))
			}
		}
	}
	return nil
}

// printReport lists the verdicts and where the report is.
func printReport(w io.Writer, rep *ae.Report, out string) {
	fmt.Fprintln(w, "\nclaims:")
	for _, c := range rep.Claims {
		fmt.Fprintf(w, "  %-28s %-15s %s\n", c.ID, c.Verdict, c.Reason)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	fmt.Fprintf(w, "report: %s\nreport: %s\nfigures: %s\n", filepath.Join(out, ae.ReportMarkdown), filepath.Join(out, ae.ReportHTML), filepath.Join(out, ae.FiguresDir))
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
