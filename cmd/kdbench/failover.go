package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/plots"
	"github.com/kdbench/kdbench/workloads/failover"
)

// failoverFlags are the flags only `kdbench run failover` reads.
type failoverFlags struct {
	targets, kinds, phases []string
	resume                 string
	hold, caseTimeout      time.Duration
	podsPerNode            int
}

func (o *failoverFlags) add(f *pflag.FlagSet) {
	f.StringSliceVar(&o.targets, "targets", nil, "failover: hops to fail (default autoscaler,deployment,replicaset,scheduler,nodeagent; also apiserver)")
	f.StringSliceVar(&o.kinds, "kinds", nil, "failover: fault kinds: crash, cut, stall, none (the control: no fault; default crash,cut,none)")
	f.StringSliceVar(&o.phases, "phases", nil, "failover: when to inject: burst, steady (default both)")
	f.StringVar(&o.resume, "resume", "", "failover: continue the interrupted run in this results directory")
	f.DurationVar(&o.hold, "hold", 2*time.Second, "failover: how long a cut or a stall lasts")
	f.IntVar(&o.podsPerNode, "pods-per-node", 0, "failover: scale the nodes with each size (ceil(size/N) nodes, a cluster per size) instead of --nodes for all")
	f.DurationVar(&o.caseTimeout, "case-timeout", 5*time.Minute, "failover: limit of each wait in a case (convergence, scale to zero)")
}

// runFailover is `kdbench run failover`: the shared run flags plus o.
func runFailover(cmd *cobra.Command, o failoverFlags, systems []string, sizes []int, reps int,
	base clusters.Spec, provider clusters.Provider, root string, noPlots bool) error {
	cfg := failover.Config{Systems: systems, Sizes: sizes, Reps: reps, ResultsRoot: root, Resume: o.resume,
		Log: cmd.ErrOrStderr(),
		Executor: &failover.ClusterExecutor{Provider: provider, Base: base, Hold: o.hold, CaseTimeout: o.caseTimeout,
			PodsPerNode: o.podsPerNode, Logf: func(f string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), f+"\n", a...) }}}
	if o.podsPerNode < 0 {
		return fmt.Errorf("--pods-per-node %d: must be positive (or 0: --nodes for every size)", o.podsPerNode)
	}
	var err error
	if cfg.Targets, err = failover.ParseTargets(o.targets); err != nil {
		return err
	}
	if cfg.Kinds, err = failover.ParseKinds(o.kinds); err != nil {
		return err
	}
	if cfg.Phases, err = failover.ParsePhases(o.phases); err != nil {
		return err
	}
	run, rows, err := failover.Run(cmd.Context(), cfg)
	if run == nil {
		return err
	}
	out := cmd.OutOrStdout()
	if terr := failover.WriteTable(out, rows); terr != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: recovery table: %v\n", terr)
	}
	fmt.Fprintln(out, "\nthe fault's cost: recovery beyond the no-fault control; crashes: restart until ready with links resynced")
	if terr := failover.WriteCostTable(out, rows); terr != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: cost table: %v\n", terr)
	}
	if ppn, _ := strconv.Atoi(run.Manifest().Params[failover.ParamPodsPerNode]); ppn > 0 {
		var sizes []string
		for _, n := range run.Manifest().Sizes {
			sizes = append(sizes, fmt.Sprintf("%d pods on %d nodes", n, failover.NodesFor(n, ppn)))
		}
		fmt.Fprintf(out, "cluster per size: %s\n", strings.Join(sizes, ", "))
	}
	if !noPlots {
		paths, perr := saveRecoveryFigures(rows, run.FiguresPath(), []string{"png", "svg"})
		for _, p := range paths {
			fmt.Fprintf(out, "figure: %s\n", p)
		}
		if perr != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: figures: %v\n", perr)
		}
	}
	fmt.Fprintf(out, "results: %s\n", run.Dir)
	return err
}

// saveRecoveryFigures draws the recovery panels of rows into dir.
func saveRecoveryFigures(rows []failover.Row, dir string, formats []string) ([]string, error) {
	figs, err := plots.RecoveryFigures(failover.Panels(rows))
	var paths []string
	for _, f := range figs {
		ps, serr := plots.Save(f.Plot, dir, f.Name, formats, 0, 0)
		paths = append(paths, ps...)
		err = errors.Join(err, serr)
	}
	return paths, err
}
