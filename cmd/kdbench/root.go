package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kdbench",
		Short:         "Benchmark and artifact-evaluation harness for Kubedirect",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(),
		newPlotCmd(),
		newCompareCmd(),
		newTraceCmd(),
		newClusterCmd(),
		newCloudLabCmd(),
		newInternalCmd(),
		newRunCmd(),
		newAECmd(),
	)
	return root
}
