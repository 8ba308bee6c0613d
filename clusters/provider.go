// Package clusters brings up, describes and tears down the clusters that
// kdbench measures. Like kind's providers, each implementation knows nothing
// about experiments: it turns a Spec into a running cluster and back.
package clusters

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Spec is what a user asks of a cluster. Providers ignore fields that make no
// sense for them (an existing cluster has the nodes it has).
type Spec struct {
	// Name identifies the cluster among others of the same provider.
	Name string
	// Nodes is the number of worker nodes (simulated on the local provider).
	Nodes int
	// NodesExact says the experiment measures against Nodes (scale-nodes):
	// a provider that cannot make that many nodes refuses instead of running
	// on the nodes it has.
	NodesExact bool
	// QPSProfile selects the control-plane client and concurrency settings:
	// "default" (upstream defaults) or "tuned" (the Kubedirect artifact's).
	QPSProfile string
	// SandboxDelay is the time a simulated kubelet waits after binding before
	// it reports a pod Running and Ready (0 by default; 200ms is the paper's
	// "+" lifecycle).
	SandboxDelay time.Duration
	// Kubeconfig is the path of an existing cluster's kubeconfig.
	Kubeconfig string
}

// Cluster is a running cluster as the rest of kdbench sees it.
type Cluster struct {
	Name     string
	Provider string
	// Kubeconfig is the path of an admin kubeconfig for the cluster.
	Kubeconfig string
	// REST is the admin client configuration; callers copy it before tuning QPS.
	REST *rest.Config
	// Nodes is the number of worker nodes found Ready when Up returned.
	Nodes int
	// QPSProfile and SandboxDelay are recorded with every result.
	QPSProfile   string
	SandboxDelay time.Duration
	// QPSProfileSource says how QPSProfile is known: set by the provider, read
	// from the control plane's flags, or given by the user.
	QPSProfileSource string
	// Components maps component name to its version (e.g. kube-apiserver →
	// v1.32.13) and Flags to the flags it was started with, for manifests.
	Components map[string]string
	Flags      map[string][]string
	// Startup records how long bringing the cluster up took, by milestone
	// (e.g. "nodes-ready", "usable"), measured from the start of Up.
	Startup map[string]time.Duration
	// Endpoints maps names such as "kube-apiserver" or "nodeagent-metrics"
	// to URLs that collectors may scrape.
	Endpoints map[string]string
	// Placer starts kdbench components on the cluster's hosts; nil when the
	// provider cannot (an existing cluster without an inventory).
	Placer Placer `json:"-"`
	// Reconfigurer restarts the cluster's own components with other flags;
	// nil when the provider cannot, ReconfigureRefusal then saying why.
	Reconfigurer       Reconfigurer `json:"-"`
	ReconfigureRefusal string       `json:"-"`
	// Crasher crashes and stalls the cluster's own components (failover);
	// nil when the provider cannot.
	Crasher Crasher `json:"-"`
}

// Status describes a cluster that may or may not be running.
type Status struct {
	Name     string
	Provider string
	// Running is true when every component the provider started is alive and
	// the API server answers.
	Running bool
	// Components maps component name to a one-line state ("running pid 123").
	Components map[string]string
	NodesReady int
	Kubeconfig string
	// Problems lists what is wrong, each naming the component and the log to read.
	Problems []string
}

// Provider is one way of getting a cluster.
type Provider interface {
	// Name is the provider's name on the command line.
	Name() string
	// Up starts (or attaches to) a cluster and returns when it is usable. On
	// error, nothing Up started is left running.
	Up(ctx context.Context, spec Spec) (*Cluster, error)
	// Down stops everything the provider started for the named cluster. It is
	// idempotent: stopping a cluster that is not running is not an error.
	Down(ctx context.Context, name string) error
	// Status reports on the named cluster without changing it.
	Status(ctx context.Context, name string) (*Status, error)
}

var (
	mu        sync.Mutex
	providers = map[string]func() Provider{}
)

// Register makes a provider available by name; providers call it from init.
func Register(name string, factory func() Provider) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := providers[name]; dup {
		panic(fmt.Sprintf("clusters: provider %q registered twice", name))
	}
	providers[name] = factory
}

// Get returns the named provider or an error listing the known ones.
func Get(name string) (Provider, error) {
	mu.Lock()
	defer mu.Unlock()
	f, ok := providers[name]
	if !ok {
		return nil, fmt.Errorf("unknown cluster provider %q (known: %v)", name, namesLocked())
	}
	return f(), nil
}

// Names lists the registered providers.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	return namesLocked()
}

func namesLocked() []string {
	var out []string
	for n := range providers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
