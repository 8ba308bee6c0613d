package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kdbench/kdbench/baselines/faas/sandbox"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/internal/netns"
)

// sandboxFlag is --function-sandboxes of both node agents: off for the
// bursts, on for the FaaS experiments, whose gateway invokes Ready pods;
// and --pod-netns, where Knative pods are served (real Knative's pods
// namespace, docs/knative.md), set by kn-k8s and kn-kd through the
// cluster's Reconfigurer.
type sandboxFlag struct {
	on    bool
	netns string
}

func (f *sandboxFlag) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "function-sandboxes", false,
		"Serve function invocations for every Ready pod on the loopback address mapped from its IP (FaaS experiments); a Knative pod at its own IP, behind a queue-proxy on Knative's ports.")
	fs.StringVar(&f.netns, "pod-netns", "",
		"Network namespace (a name under /run/netns, or its path) where Knative pods' queue-proxies listen at their pod IPs (real Knative's pods namespace); the agent itself stays in its own. Needs --function-sandboxes and root.")
}

// podNetns is the namespace's path.
func (f *sandboxFlag) podNetns() string {
	if f.netns == "" || strings.Contains(f.netns, "/") {
		return f.netns
	}
	return netns.Path(f.netns)
}

// options returns the agent options the flags ask for, and what closes them.
func (f *sandboxFlag) options() ([]nodeagent.Option, func(), error) {
	if !f.on {
		if f.netns != "" {
			return nil, nil, errors.New("nodeagent: --pod-netns needs --function-sandboxes")
		}
		return nil, func() {}, nil
	}
	p := sandbox.NewPool()
	if p.Netns = f.podNetns(); p.Netns != "" {
		if _, err := os.Stat(p.Netns); err != nil {
			return nil, nil, fmt.Errorf("nodeagent: --pod-netns=%s: %w", f.netns, err)
		}
	}
	return []nodeagent.Option{nodeagent.WithSandboxes(p)}, p.Close, nil
}
