package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kdbench's version and the Kubernetes version it bundles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "kdbench %s (revision %s), Kubernetes %s\n",
				buildinfo.Version, buildinfo.Revision(), buildinfo.KubernetesVersion)
			return nil
		},
	}
}
