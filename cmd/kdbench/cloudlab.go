package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/clusters/cloudlab"
	"github.com/kdbench/kdbench/internal/fsutil"
)

func newCloudLabCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cloudlab",
		Short: "Helpers for running on CloudLab (the paper's testbed)",
	}
	var p cloudlab.ProfileParams
	var out string
	profile := &cobra.Command{
		Use:   "profile",
		Short: "Write the geni-lib profile that requests the cluster's machines",
		Long: `Write the geni-lib Python profile CloudLab runs to request one control-plane
node ("cp") and workers ("w1", ...) on one LAN. Create a profile from it in the
CloudLab portal, instantiate it, then download the experiment's manifest and run
kdbench cluster up --provider cloudlab --inventory manifest.xml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := cloudlab.Profile(p)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := fsutil.WriteFileAtomic(out, data, 0o644); err != nil {
				return fmt.Errorf("writing profile: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d nodes of %s, %s)\n", out, p.Nodes, p.Hardware, p.OS)
			return nil
		},
	}
	profile.Flags().IntVar(&p.Nodes, "nodes", 80, "machines in all: one control plane, the rest workers")
	profile.Flags().StringVar(&p.Hardware, "hardware", "xl170", "CloudLab node type")
	profile.Flags().StringVar(&p.OS, "os", "UBUNTU22-64-STD", "disk image in emulab-ops")
	profile.Flags().StringVarP(&out, "output", "o", "", "file to write (default stdout)")
	cmd.AddCommand(profile)
	return cmd
}

// cloudLabProvider builds the provider from the cluster command's flags.
func (f *clusterFlags) cloudLabProvider(cmd *cobra.Command) *cloudlab.Provider {
	o := f.cloudlab
	o.Root = f.local.Root
	o.K8sBinDir = f.local.BinDir
	o.ResetOnDown = true // `cluster down` is the one place that resets nodes
	if !f.quiet {
		o.Progress = cmd.ErrOrStderr()
	}
	if o.Root == "" {
		o.Root = os.Getenv("KDBENCH_HOME")
	}
	return cloudlab.New(o)
}
