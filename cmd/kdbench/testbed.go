package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/clusters/testbed"
)

// newTestbedCmd is `kdbench internal testbed up|down`: the multi-host
// testbed of make e2e-multihost, by hand (root only).
func newTestbedCmd() *cobra.Command {
	var o testbed.Options
	cmd := &cobra.Command{
		Use:   "testbed",
		Short: "Build or remove the multi-host testbed (network namespaces with sshd; root)",
	}
	cmd.PersistentFlags().StringVar(&o.Name, "name", "kdtb", "namespace prefix")
	cmd.PersistentFlags().StringVar(&o.Dir, "dir", "", "keys, configs, logs and the inventory (default $TMPDIR/kdbench-testbed-<name>)")
	up := &cobra.Command{
		Use:  "up",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tb, err := testbed.Up(cmd.Context(), o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, h := range tb.Hosts {
				fmt.Fprintf(out, "%-4s %-14s %s  (namespace %s)\n", h.Name, h.Role, h.IP, tb.Namespace(h.Name))
			}
			fmt.Fprintf(out, "inventory %s, key %s\non cp: ip netns exec %s kdbench cluster check --provider cloudlab --inventory %s --key %s\n",
				tb.Inventory(), tb.Key(), tb.Namespace("cp"), tb.Inventory(), tb.Key())
			return nil
		},
	}
	up.Flags().IntVar(&o.Workers, "workers", 3, "worker hosts")
	up.Flags().StringVar(&o.Subnet, "subnet", "10.77.1.0/24", "the testbed's private LAN")
	down := &cobra.Command{
		Use:  "down",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := o.Dir
			if dir == "" {
				dir = filepath.Join(os.TempDir(), "kdbench-testbed-"+o.Name)
			}
			if err := testbed.Clean(cmd.Context(), o.Name, dir); err != nil {
				return err
			}
			left, err := testbed.Leftovers(cmd.Context(), o.Name, dir)
			if err != nil {
				return err
			}
			if len(left) > 0 {
				return fmt.Errorf("testbed %s: still there after down: %v", o.Name, left)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "testbed %s removed\n", o.Name)
			return nil
		},
	}
	cmd.AddCommand(up, down)
	return cmd
}
