package main

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/ae"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/cloudlab"
	_ "github.com/kdbench/kdbench/clusters/existing"
	"github.com/kdbench/kdbench/clusters/local"
)

// clusterFlags are shared by the cluster subcommands.
type clusterFlags struct {
	provider   string
	spec       clusters.Spec
	local      local.Options
	cloudlab   cloudlab.Options
	dryRun     bool
	quiet      bool
	printState bool
}

func (f *clusterFlags) providerFor(cmd *cobra.Command) (clusters.Provider, error) {
	if f.provider == local.ProviderName {
		o := f.local
		if !f.quiet {
			o.Logf = func(format string, args ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...) }
		}
		return local.New(o), nil
	}
	if f.provider == cloudlab.ProviderName {
		return f.cloudLabProvider(cmd), nil
	}
	return clusters.Get(f.provider)
}

func newClusterCmd() *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Bring a cluster up, check it, tear it down",
	}
	cmd.PersistentFlags().StringVar(&f.provider, "provider", local.ProviderName, fmt.Sprintf("cluster provider %v", clusters.Names()))
	cmd.PersistentFlags().StringVar(&f.spec.Name, "name", "kdbench", "cluster name")
	cmd.PersistentFlags().StringVar(&f.local.Root, "home", "", "directory holding local clusters' work directories (default $KDBENCH_HOME or ./.kdbench)")

	up := &cobra.Command{
		Use:   "up",
		Short: "Start a cluster and wait until every node is Ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.dryRun {
				if f.provider != cloudlab.ProviderName {
					return fmt.Errorf("--dry-run is for --provider %s", cloudlab.ProviderName)
				}
				plan, err := f.cloudLabProvider(cmd).Plan(f.spec)
				if err != nil {
					return err
				}
				return cloudlab.WritePlan(cmd.OutOrStdout(), plan)
			}
			p, err := f.providerFor(cmd)
			if err != nil {
				return err
			}
			if !clusters.CreatesClusters(p) && !cmd.Flags().Changed("qps-profile") {
				f.spec.QPSProfile = "" // the cluster's own, read from it
			}
			c, err := p.Up(cmd.Context(), f.spec)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %q (%s) is up with %d Ready nodes\n  export KUBECONFIG=%s\n", c.Name, c.Provider, c.Nodes, c.Kubeconfig)
			return nil
		},
	}
	up.Flags().IntVar(&f.spec.Nodes, "nodes", 80, "simulated worker nodes (local; cloudlab --control-plane processes: shared among the workers)")
	up.Flags().StringVar(&f.spec.QPSProfile, "qps-profile", "default", fmt.Sprintf("control-plane QPS profile %v (local and cloudlab set it; existing reads it, and refuses one that contradicts the cluster)", local.ProfileNames()))
	up.Flags().DurationVar(&f.spec.SandboxDelay, "sandbox-delay", 0, "delay from binding to Ready in the simulated kubelet; 200ms is the paper's '+' lifecycle (local; cloudlab --control-plane processes)")
	up.Flags().StringVar(&f.spec.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (existing)")
	up.Flags().StringVar(&f.local.BinDir, "bin-dir", "", "directory with kube-apiserver, kube-controller-manager, kube-scheduler (default $KDBENCH_K8S_BIN_DIR or the make k8s cache)")
	up.Flags().IntVar(&f.local.APIServerPort, "apiserver-port", 0, "API server port on 127.0.0.1 (0 picks a free one)")
	up.Flags().BoolVar(&f.local.EtcdUnsafeNoFsync, "etcd-unsafe-no-fsync", false, "run etcd without fsync (faster, not crash-safe; recorded)")
	up.Flags().DurationVar(&f.local.StartTimeout, "start-timeout", 60*time.Second, "how long each component may take to become healthy")
	up.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print no progress")
	up.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the whole bootstrap plan per node and change nothing (cloudlab)")
	up.Flags().StringVar(&f.cloudlab.KdbenchBinary, "kdbench-binary", "", "linux/amd64 kdbench to copy to the nodes (cloudlab; default this executable)")
	up.Flags().IntVar(&f.cloudlab.Parallel, "parallel", 16, "nodes bootstrapped at once (cloudlab)")
	up.Flags().StringSliceVar(&f.cloudlab.Systems, "systems", ae.Systems, "systems the cluster is to run (cloudlab): they decide the add-ons, Knative Serving for kn-k8s and kn-kd")
	// Down needs the nodes too (it resets them), so these are persistent.
	cmd.PersistentFlags().StringVar(&f.cloudlab.Inventory, "inventory", "", "the experiment's manifest XML or a hosts file (cloudlab; default: the one recorded at up)")
	cmd.PersistentFlags().StringVar(&f.cloudlab.Login.User, "user", "", "SSH user (cloudlab; default the manifest's, then ~/.ssh/config)")
	cmd.PersistentFlags().StringVar(&f.cloudlab.Login.Key, "key", "", "SSH private key file (cloudlab; default ~/.ssh/config's IdentityFile, ssh-agent, ~/.ssh/id_*)")
	cmd.PersistentFlags().StringVar(&f.cloudlab.Login.Jump, "jump", "", "SSH jump host [user@]host[:port] (cloudlab; default ~/.ssh/config's ProxyJump)")
	cmd.PersistentFlags().StringVar(&f.cloudlab.ControlPlane, "control-plane", "", "cloudlab: kubeadm (needs the internet) or processes (kdbench's own control plane and node agents, uploaded over SSH; default: the mode of the cluster's last up, else kubeadm)")
	cmd.PersistentFlags().StringVar(&f.cloudlab.Login.SSHConfig, "ssh-config", "", "ssh_config file to read (cloudlab; default ~/.ssh/config)")

	down := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of a cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.providerFor(cmd)
			if err != nil {
				return err
			}
			if err := p.Down(cmd.Context(), f.spec.Name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %q is down\n", f.spec.Name)
			return nil
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Report a cluster's processes and Ready nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.providerFor(cmd)
			if err != nil {
				return err
			}
			s, err := p.Status(cmd.Context(), f.spec.Name)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			state := "not running"
			if s.Running {
				state = "running"
			}
			fmt.Fprintf(out, "cluster %q (%s): %s, %d nodes Ready\n", s.Name, s.Provider, state, s.NodesReady)
			names := make([]string, 0, len(s.Components))
			for n := range s.Components {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(out, "  %-24s %s\n", n, s.Components[n])
			}
			for _, pr := range s.Problems {
				fmt.Fprintf(out, "  problem: %s\n", pr)
			}
			if s.Running {
				fmt.Fprintf(out, "  export KUBECONFIG=%s\n", s.Kubeconfig)
				return nil
			}
			os.Exit(3) // scripts can test `kdbench cluster status` without parsing
			return nil
		},
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Connect to every node over SSH as up would, and change nothing (cloudlab)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.provider != cloudlab.ProviderName {
				return fmt.Errorf("check is for --provider %s", cloudlab.ProviderName)
			}
			checks, err := f.cloudLabProvider(cmd).CheckNodes(cmd.Context(), f.spec.Name)
			for _, c := range checks {
				if c.Err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%-12s %-14s %-22s ok: sudo runs as %s, LAN address %s is on it\n", c.Node.Name, c.Node.Role, c.Node.Addr(), c.User, c.Node.IP)
				}
			}
			return err
		},
	}
	cmd.AddCommand(up, down, status, check)
	return cmd
}
