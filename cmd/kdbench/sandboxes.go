package main

import (
	"github.com/spf13/pflag"

	"github.com/kdbench/kdbench/baselines/faas/sandbox"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

// sandboxFlag is --function-sandboxes of both node agents: off for the
// bursts, on for the FaaS experiments, whose gateway invokes Ready pods.
type sandboxFlag struct{ on bool }

func (f *sandboxFlag) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "function-sandboxes", false,
		"Serve function invocations for every Ready pod on the loopback address mapped from its IP (FaaS experiments); a Knative pod at its own IP, behind a queue-proxy on Knative's ports.")
}

// options returns the agent options the flag asks for, and what closes them.
func (f *sandboxFlag) options() ([]nodeagent.Option, func()) {
	if !f.on {
		return nil, func() {}
	}
	p := sandbox.NewPool()
	return []nodeagent.Option{nodeagent.WithSandboxes(p)}, p.Close
}
