// Package baselines defines the unit of comparison: a System under test.
// Each system is one package implementing System and registering itself;
// experiments drive systems only through this interface and never switch on
// a system's name.
package baselines

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/clusters"
)

// Env is what a system gets to work with on a running cluster.
type Env struct {
	Cluster *clusters.Cluster
	// Client is the harness's client (QPS high enough not to throttle).
	Client kubernetes.Interface
	Logf   func(format string, args ...any)
}

// System is one system under test (k8s, k8s+, kd, kd+, kn-model, …).
type System interface {
	// Name is the system's name on the command line and in results.
	Name() string
	// Cluster returns the cluster the system needs, given the one the user
	// asked for: the "+" systems set the simulated sandbox delay. Systems
	// whose specs come out equal share one cluster.
	Cluster(spec clusters.Spec) clusters.Spec
	// Prepare deploys the system's own components (controllers, front-ends)
	// on the cluster; a no-op for vanilla Kubernetes.
	Prepare(ctx context.Context, env Env) error
	// Scale asks for replicas of one function (a Deployment), the way the
	// system's autoscaler does. It returns once the request is accepted.
	Scale(ctx context.Context, env Env, namespace, function string, replicas int32) error
	// Stages names the latency-breakdown stages the system reports, in
	// order along the scale-out path.
	Stages() []string
	// Teardown removes what Prepare deployed.
	Teardown(ctx context.Context, env Env) error
}

// DeploymentDecorator is implemented by systems that must mark the
// workload's Deployments before they are created (Kubedirect labels the
// objects it manages).
type DeploymentDecorator interface {
	DecorateDeployment(*appsv1.Deployment)
}

// Observable is implemented by systems that run components of their own.
// Their Endpoints (name → base URL) are scraped for /metrics with the
// cluster's; NodeAgent is the base URL serving /timings for the pods the
// system runs, replacing the cluster's node agent in the self-checks.
type Observable interface {
	Endpoints() map[string]string
	NodeAgent() string
}

// Processes is implemented by systems that run OS processes of their own
// next to the cluster's (kd's hops): name → pid of each one alive, so that
// resource accounting (the trace replay's component RSS) counts them.
type Processes interface {
	Processes() map[string]int
}

// Live is implemented by systems that run processes of their own: Dead
// names those that exited, with their logs' tails, so that a burst stops
// at once rather than waiting out its timeout for a chain with a hole.
type Live interface {
	Dead() error
}

// Dead is s's Dead if it is Live, nil otherwise.
func Dead(s System) error {
	if l, ok := s.(Live); ok {
		return l.Dead()
	}
	return nil
}

// Podless is implemented by systems whose sandboxes are not Kubernetes pods
// (dirigent): experiments that wait for Ready pods must refuse them.
type Podless interface {
	Podless() bool
}

// ProviderBound is implemented by systems that run on some clusters only
// (real Knative: those of kdbench's own processes, local or a cloudlab
// process control plane). Honour asks them, with the provider and the
// spec of the cluster to be, before anything starts, so that a run they
// cannot make is refused, not failed halfway.
type ProviderBound interface {
	RefuseProvider(p clusters.Provider, spec clusters.Spec) error
}

// KubernetesStages is the scale-out path of the Kubedirect paper's breakdown.
var KubernetesStages = []string{"deployment_ctrl", "replicaset_ctrl", "scheduler", "kubelet"}

var (
	mu      sync.Mutex
	systems = map[string]System{}
	// refused are names this build knows and will not run, with why.
	refused = map[string]string{}
)

// Register makes a system available by name; system packages call it from init.
func Register(s System) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := systems[s.Name()]; dup {
		panic(fmt.Sprintf("baselines: system %q registered twice", s.Name()))
	}
	// A real system replaces a refusal of its name (the package that runs
	// it registers it).
	delete(refused, s.Name())
	systems[s.Name()] = s
}

// Refuse reserves name for a system this build may not run (kn-k8s and
// kn-kd, real Knative, until its package is built in): Get and Parse refuse
// it with why, rather than calling it unknown or running something else
// under its name. A system registered under the name, before or after,
// takes precedence, so the package that runs it needs no change here.
func Refuse(name, why string) {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := systems[name]; ok {
		return
	}
	refused[name] = why
}

// Refusal is why this build refuses the named system, "" if it does not.
func Refusal(name string) string {
	mu.Lock()
	defer mu.Unlock()
	return refused[name]
}

// Get returns the named system, or an error listing the known ones.
func Get(name string) (System, error) {
	mu.Lock()
	defer mu.Unlock()
	s, ok := systems[name]
	if why := refused[name]; !ok && why != "" {
		return nil, AsRefusal(fmt.Errorf("system %q is refused in this build: %s", name, why))
	}
	if !ok {
		return nil, fmt.Errorf("unknown system %q (known: %s)", name, strings.Join(namesLocked(), ", "))
	}
	return s, nil
}

// Parse resolves a list of system names, rejecting unknown and repeated ones.
func Parse(names []string) ([]System, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no system given (known: %s)", strings.Join(Names(), ", "))
	}
	seen := map[string]bool{}
	var out []System
	for _, n := range names {
		n = strings.TrimSpace(n)
		if seen[n] {
			return nil, fmt.Errorf("system %q given twice", n)
		}
		seen[n] = true
		s, err := Get(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Names lists the registered systems.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	return namesLocked()
}

func namesLocked() []string {
	out := make([]string, 0, len(systems))
	for n := range systems {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
