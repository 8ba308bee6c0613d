package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

// newNodeAgentCmd runs the simulated kubelets of the local cluster and serves
// their metrics, per-pod timings, and a /readyz that turns 200 once every
// node is registered.
func newNodeAgentCmd() *cobra.Command {
	cfg := nodeagent.DefaultConfig()
	var kubeconfig, metricsAddr string
	var sandboxes sandboxFlag
	cmd := &cobra.Command{
		Use:   "nodeagent",
		Short: "Run the simulated kubelets of the local cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("nodeagent: kubeconfig %q: %w", kubeconfig, err)
			}
			cs, err := kubernetes.NewForConfig(cfg.RESTConfig(base))
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			timings := nodeagent.NewTimingLog(0)
			opts, closeSandboxes := sandboxes.options()
			defer closeSandboxes()
			opts = append(opts, nodeagent.WithRegisterer(reg), nodeagent.WithObserver(timings))
			agent, err := nodeagent.New(cs, cfg, opts...)
			if err != nil {
				return err
			}
			mux := http.NewServeMux()
			mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			mux.Handle("/timings", timings) // per-pod bound/Ready times for the harness's self-checks
			mux.Handle("/pods", agent.PodsHandler())
			mux.HandleFunc("/readyz", readyz(agent.Ready(), "registering nodes"))
			stop, err := serve("nodeagent", metricsAddr, mux)
			if err != nil {
				return err
			}
			defer stop()
			err = agent.Run(cmd.Context())
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the node agent's identity")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "127.0.0.1:0", "address serving /metrics, /timings, /pods and /readyz")
	cfg.AddFlags(cmd.Flags())
	sandboxes.add(cmd.Flags())
	return cmd
}
