package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdbench/kdbench/internal/kubeclient"
	"github.com/kdbench/kdbench/kubedirect/controllers/deployment"
	"github.com/kdbench/kdbench/kubedirect/controllers/replicaset"
	"github.com/kdbench/kdbench/kubedirect/controllers/scheduler"
	"github.com/kdbench/kdbench/kubedirect/link"
)

// kdClientFlags are the API client settings every Kubedirect process takes.
type kdClientFlags struct {
	kubeconfig string
	qps        float32
	burst      int
}

func (f *kdClientFlags) add(fs *pflag.FlagSet, qps float32, burst int) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the process's identity")
	fs.Float32Var(&f.qps, "kube-api-qps", qps, "QPS of the process's API client (as the component it replaces)")
	fs.IntVar(&f.burst, "kube-api-burst", burst, "burst of the process's API client")
}

func (f *kdClientFlags) client(agent string) (kubernetes.Interface, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: kubeconfig %q: %w", agent, f.kubeconfig, err)
	}
	rc.QPS, rc.Burst, rc.UserAgent = f.qps, f.burst, "kdbench-"+agent
	// Protobuf, as the controller-manager and scheduler the hops replace.
	return kubernetes.NewForConfig(kubeclient.Protobuf(rc))
}

// linkTLSFlags are a hop's mutual-TLS files; none given means plaintext links.
type linkTLSFlags struct{ ca, cert, key string }

func (f *linkTLSFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.ca, "tls-ca", "", "CA certificate the link peers' certificates must chain to (PEM)")
	fs.StringVar(&f.cert, "tls-cert", "", "this hop's link certificate (PEM), naming it as spiffe://kdbench/hop/<hop>")
	fs.StringVar(&f.key, "tls-key", "", "key of --tls-cert (PEM)")
}

func (f *linkTLSFlags) load(agent string) (*link.Credentials, error) {
	if f.ca == "" && f.cert == "" && f.key == "" {
		return nil, nil
	}
	if f.ca == "" || f.cert == "" || f.key == "" {
		return nil, fmt.Errorf("%s: mutual TLS needs all of --tls-ca, --tls-cert and --tls-key", agent)
	}
	c, err := link.LoadCredentials(f.ca, f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", agent, err)
	}
	return c, nil
}

func quiet(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// newKubedirectCmds are the Kubedirect controllers and the direct-mode node
// agent, one process each, run by the kd systems.
func newKubedirectCmds() []*cobra.Command {
	var dep deployment.Config
	var depc kdClientFlags
	var dept linkTLSFlags
	depCmd := &cobra.Command{
		Use: "kd-deployment", Short: "Run the upstream Deployment controller as a Kubedirect hop", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := depc.client("kd-deployment")
			if err != nil {
				return err
			}
			if dep.TLS, err = dept.load("kd-deployment"); err != nil {
				return err
			}
			return quiet(deployment.Run(cmd.Context(), cs, dep, nil))
		},
	}
	depc.add(depCmd.Flags(), 20, 30)
	dept.add(depCmd.Flags())
	depCmd.Flags().StringVar(&dep.Listen, "listen", "127.0.0.1:0", "address of the autoscaler's link")
	depCmd.Flags().StringVar(&dep.ReplicaSet, "replicaset", "", "address of the ReplicaSet controller's link")
	depCmd.Flags().StringVar(&dep.Metrics, "metrics-addr", "127.0.0.1:0", "address serving /metrics, /hops and /readyz")
	depCmd.Flags().IntVar(&dep.Workers, "workers", 5, "concurrent Deployment syncs (KCM --concurrent-deployment-syncs)")

	var rs replicaset.Config
	var rsc kdClientFlags
	var rst linkTLSFlags
	rsCmd := &cobra.Command{
		Use: "kd-replicaset", Short: "Run the upstream ReplicaSet controller as a Kubedirect hop", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := rsc.client("kd-replicaset")
			if err != nil {
				return err
			}
			if rs.TLS, err = rst.load("kd-replicaset"); err != nil {
				return err
			}
			return quiet(replicaset.Run(cmd.Context(), cs, rs, nil))
		},
	}
	rsc.add(rsCmd.Flags(), 20, 30)
	rst.add(rsCmd.Flags())
	rsCmd.Flags().StringVar(&rs.Listen, "listen", "127.0.0.1:0", "address of the Deployment controller's link")
	rsCmd.Flags().StringVar(&rs.Scheduler, "scheduler", "", "address of the scheduler's link")
	rsCmd.Flags().StringVar(&rs.Metrics, "metrics-addr", "127.0.0.1:0", "address serving /metrics, /hops and /readyz")
	rsCmd.Flags().IntVar(&rs.Workers, "workers", 5, "concurrent ReplicaSet syncs (KCM --concurrent-replicaset-syncs)")
	rsCmd.Flags().IntVar(&rs.BurstReplicas, "burst-replicas", 500, "pod creations per sync (the KCM's)")

	var sc scheduler.Config
	var scc kdClientFlags
	var sct linkTLSFlags
	schedCmd := &cobra.Command{
		Use: "kd-scheduler", Short: "Run the upstream scheduler as a Kubedirect hop", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := scc.client("kd-scheduler")
			if err != nil {
				return err
			}
			if sc.TLS, err = sct.load("kd-scheduler"); err != nil {
				return err
			}
			return quiet(scheduler.Run(cmd.Context(), cs, sc, nil))
		},
	}
	scc.add(schedCmd.Flags(), 50, 100)
	sct.add(schedCmd.Flags())
	schedCmd.Flags().StringVar(&sc.Listen, "listen", "127.0.0.1:0", "address of the ReplicaSet controller's link")
	schedCmd.Flags().StringVar(&sc.NodeAgent, "nodeagent", "", "address of the one node agent every bound pod goes to (empty: each node's agent, named by its kubedirect.io/agent annotation)")
	schedCmd.Flags().StringVar(&sc.Metrics, "metrics-addr", "127.0.0.1:0", "address serving /metrics, /hops and /readyz")
	schedCmd.Flags().StringVar(&sc.NodeSelector, "node-selector", "", "label selector of the nodes whose agent is on the link")
	schedCmd.Flags().Int32Var(&sc.Parallelism, "parallelism", 16, "scheduler parallelism")
	schedCmd.Flags().Int32Var(&sc.PercentageOfNodesToScore, "percentage-of-nodes-to-score", 0, "percentageOfNodesToScore (0: the scheduler's adaptive default)")

	return []*cobra.Command{depCmd, rsCmd, schedCmd}
}
