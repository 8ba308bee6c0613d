package main

import (
	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/etcd"
)

// newInternalCmd groups the components that the local cluster runs as
// processes of this same binary. They are not for users.
func newInternalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "internal",
		Short:  "Components run by the local cluster (not for direct use)",
		Hidden: true,
	}
	var ec etcd.Config
	etcdCmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run the embedded etcd server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return etcd.Run(cmd.Context(), ec)
		},
	}
	ec.AddFlags(etcdCmd.Flags())
	var kubeconfig string
	grant := &cobra.Command{
		Use:   "grant-node-agent",
		Short: "Bind the node agents' user to the system:node role (the CloudLab process control plane)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return local.GrantNodeAgent(cmd.Context(), kubeconfig)
		},
	}
	grant.Flags().StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig")
	cmd.AddCommand(etcdCmd, newNodeAgentCmd(), newSuperviseCmd(), grant, newTestbedCmd())
	cmd.AddCommand(newKubedirectCmds()...)
	return cmd
}
