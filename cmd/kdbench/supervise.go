package main

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// newSuperviseCmd runs one component under the supervisor on this host for
// a harness on another (clusters/cloudlab's placer, over SSH): stdin is the
// lifeline, and when it closes, or this process is told to stop, the
// component's group is stopped (docs/placement.md).
func newSuperviseCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "supervise --name N --log L [--dir D] [--grace G] [--silence S] -- command [args...]",
		Short:              "Run a component for a remote harness until its session closes",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, opts, err := supervisor.ParseSuperviseArgs(args)
			if err != nil {
				return err
			}
			in, lifeline := io.Pipe()
			go func() { _, _ = io.Copy(lifeline, os.Stdin); lifeline.Close() }()
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			go func() { <-sig; lifeline.Close() }()
			return supervisor.Supervise(spec, opts, in, cmd.OutOrStdout())
		},
	}
}
