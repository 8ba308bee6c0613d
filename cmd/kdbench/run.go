package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/workloads/burst"
)

func newRunCmd() *cobra.Command {
	var (
		system string
		sizes  []int
		reps   int
		spec   = clusters.Spec{Name: "kdbench-run", Nodes: 80}
		home   string
	)
	cmd := &cobra.Command{
		Use:   "run <experiment>",
		Short: "Run an experiment on a fresh local cluster (experiments: scale-pods)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "scale-pods" {
				return fmt.Errorf("unknown experiment %q (known: scale-pods)", args[0])
			}
			if system != "k8s" && system != "k8s+" {
				return fmt.Errorf("unknown system %q (known: k8s, k8s+)", system)
			}
			if system == "k8s+" {
				spec.SandboxDelay = 200 * time.Millisecond
			}
			logf := func(format string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", a...) }
			p := local.New(local.Options{Root: home, Attached: true, Logf: logf})
			c, err := p.Up(cmd.Context(), spec)
			if err != nil {
				return err
			}
			// Tear down even after Ctrl-C: use a fresh context for Down.
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := p.Down(ctx, spec.Name); err != nil {
					logf("tearing down: %v", err)
				} else {
					logf("cluster %q torn down", spec.Name)
				}
			}()
			rc := *c.REST
			rc.QPS, rc.Burst = 1000, 2000 // the harness must not be what throttles
			cs, err := kubernetes.NewForConfig(&rc)
			if err != nil {
				return err
			}
			res, err := burst.ScalePods(cmd.Context(), cs, sizes, reps, cmd.ErrOrStderr())
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "system\tsize\trep\tp50\tp90\tp99\tmax\t(%d nodes, QPS profile %s)\n", c.Nodes, c.QPSProfile)
			for _, r := range res {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", system, r.Size, r.Rep, r.P50.Round(time.Millisecond),
					r.P90.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond))
			}
			tw.Flush()
			return err
		},
	}
	cmd.Flags().StringVar(&system, "system", "k8s", "system under test (k8s, k8s+)")
	cmd.Flags().IntSliceVar(&sizes, "sizes", []int{100}, "burst sizes")
	cmd.Flags().IntVar(&reps, "reps", 1, "repetitions per size")
	cmd.Flags().IntVar(&spec.Nodes, "nodes", 80, "simulated nodes")
	cmd.Flags().StringVar(&spec.QPSProfile, "qps-profile", "default", fmt.Sprintf("QPS profile %v", local.ProfileNames()))
	cmd.Flags().StringVar(&home, "home", "", "directory for the cluster's work directory (default $KDBENCH_HOME or ./.kdbench)")
	return cmd
}
