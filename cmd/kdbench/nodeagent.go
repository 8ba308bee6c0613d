package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/clusters/local/nodeagent/direct"
)

// newNodeAgentCmd runs the simulated kubelets of the local cluster and serves
// their metrics, per-pod timings, and a /readyz that turns 200 once every
// node is registered. With --direct-listen it also serves Kubedirect's
// direct mode for the managed pods of its nodes.
func newNodeAgentCmd() *cobra.Command {
	a := agentFlags{cfg: nodeagent.DefaultConfig()}
	var d directFlags
	cmd := &cobra.Command{
		Use:   "nodeagent",
		Short: "Run the simulated kubelets of the local cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if d.listen == "" {
				if d.advertise != "" || d.tls != (linkTLSFlags{}) {
					return errors.New("nodeagent: --direct-advertise and --tls-* need --direct-listen")
				}
				return a.run(cmd.Context(), "nodeagent", nil)
			}
			return a.run(cmd.Context(), "nodeagent", &d)
		},
	}
	a.add(cmd.Flags(), "address serving /metrics, /timings, /pods, /hops (direct mode) and /readyz")
	cmd.Flags().StringVar(&d.listen, "direct-listen", "", "serve Kubedirect's direct mode for the managed pods of the agent's nodes: the address the kd scheduler's link dials (empty: API mode only)")
	cmd.Flags().StringVar(&d.advertise, "direct-advertise", "", "address of the link annotated on the agent's nodes as kubedirect.io/agent (default: the address --direct-listen bound)")
	cmd.Flags().IntVar(&d.maxInFlight, "direct-max-in-flight", 32, "pod creates and status writes in flight at once in direct mode, status writes first, as the floor's workers (0: no bound beyond the workers)")
	d.tls.add(cmd.Flags())
	return cmd
}

// agentFlags are the node agent's flags besides direct mode.
type agentFlags struct {
	cfg                     nodeagent.Config
	kubeconfig, metricsAddr string
	sandboxes               sandboxFlag
}

func (a *agentFlags) add(fs *pflag.FlagSet, metricsHelp string) {
	fs.StringVar(&a.kubeconfig, "kubeconfig", "", "kubeconfig of the node agent's identity")
	fs.StringVar(&a.metricsAddr, "metrics-addr", "127.0.0.1:0", metricsHelp)
	a.cfg.AddFlags(fs)
	a.sandboxes.add(fs)
}

// directFlags turn on direct mode: the link's address and identity.
type directFlags struct {
	listen, advertise string
	maxInFlight       int
	tls               linkTLSFlags
}

// run runs the agent, in direct mode too if d is set, until ctx ends.
func (a *agentFlags) run(ctx context.Context, name string, d *directFlags) error {
	base, err := clientcmd.BuildConfigFromFlags("", a.kubeconfig)
	if err != nil {
		return fmt.Errorf("%s: kubeconfig %q: %w", name, a.kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(a.cfg.RESTConfig(base))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	timings := nodeagent.NewTimingLog(0)
	opts, closeSandboxes, err := a.sandboxes.options()
	if err != nil {
		return err
	}
	defer closeSandboxes()
	var observer nodeagent.Observer = timings
	gatherers := prometheus.Gatherers{reg}
	mux := http.NewServeMux()
	cfg := a.cfg
	if d != nil {
		gate := nodeagent.NewGate(d.maxInFlight)
		src, err := d.source(name, cs, &cfg, reg, gate)
		if err != nil {
			return err
		}
		observer = nodeagent.ObserverFunc(func(t nodeagent.PodTiming) { timings.PodReady(src.Timed(t)); src.PodReady(t) })
		opts = append(opts, nodeagent.WithPodSource(src), nodeagent.WithGate(gate))
		gatherers = append(gatherers, hopGatherer{src})
		mux.HandleFunc("/hops", func(w http.ResponseWriter, r *http.Request) {
			if h := src.Hop(); h != nil {
				h.Log.ServeHTTP(w, r)
				return
			}
			http.Error(w, "link not up", http.StatusServiceUnavailable)
		})
	}
	opts = append(opts, nodeagent.WithRegisterer(reg), nodeagent.WithObserver(observer))
	agent, err := nodeagent.New(cs, cfg, opts...)
	if err != nil {
		return err
	}
	mux.Handle("/metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{}))
	mux.Handle("/timings", timings) // per-pod bound/Ready times for the harness's self-checks
	mux.Handle("/pods", agent.PodsHandler())
	mux.HandleFunc("/readyz", readyz(agent.Ready(), "registering nodes"))
	stop, err := serve(name, a.metricsAddr, mux)
	if err != nil {
		return err
	}
	defer stop()
	return quiet(agent.Run(ctx))
}

// source binds the link (so that its address is known before the nodes are
// registered with it) and returns the direct source serving it; cfg gets
// the address to annotate.
func (d *directFlags) source(name string, cs kubernetes.Interface, cfg *nodeagent.Config, reg prometheus.Registerer, gate *nodeagent.Gate) (*direct.Source, error) {
	creds, err := d.tls.load(name)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", d.listen)
	if err != nil {
		return nil, fmt.Errorf("%s: direct-mode link address %s: %w", name, d.listen, err)
	}
	cfg.DirectAddress = d.advertise
	if cfg.DirectAddress == "" {
		cfg.DirectAddress = ln.Addr().String()
	}
	src, err := direct.New(cs, direct.Config{Listener: ln, NodePrefix: cfg.NamePrefix, Registerer: reg, TLS: creds, Gate: gate})
	if err != nil {
		ln.Close()
		return nil, err
	}
	return src, nil
}

// hopGatherer exposes the link metrics once the hop runs.
type hopGatherer struct{ src *direct.Source }

func (g hopGatherer) Gather() ([]*dto.MetricFamily, error) {
	if h := g.src.Hop(); h != nil {
		return h.Registry.Gather()
	}
	return nil, nil
}
