// Package existing attaches kdbench to a cluster it did not start, given a
// kubeconfig. It never stops that cluster: Down only forgets it. It cannot
// change the cluster either, so it refuses, before a run starts, what the
// cluster does not give: a sandbox delay its nodes do not run, a QPS profile
// its control plane contradicts, a node count it does not have.
package existing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
)

// ProviderName is the provider's name on the command line.
const ProviderName = "existing"

func init() {
	clusters.Register(ProviderName, func() clusters.Provider { return Provider{} })
}

// Provider implements clusters.Provider for any reachable cluster.
type Provider struct {
	// newClient replaces the kubeconfig's client in tests.
	newClient func(*rest.Config) (kubernetes.Interface, error)
}

func (Provider) Name() string { return ProviderName }

// facts is what the provider reads of a cluster.
type facts struct {
	name    string
	cfg     *rest.Config
	version string
	workers workers
	cp      controlPlane
	profile profileOf
	delay   time.Duration
	refused clusters.Refusals
}

// inspect reads the cluster of spec.Kubeconfig and what of spec it refuses.
func (p Provider) inspect(ctx context.Context, spec clusters.Spec) (*facts, error) {
	if spec.Kubeconfig == "" {
		return nil, errors.New("the existing provider needs --kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", spec.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", spec.Kubeconfig, err)
	}
	newClient := p.newClient
	if newClient == nil {
		newClient = func(c *rest.Config) (kubernetes.Interface, error) { return kubernetes.NewForConfig(c) }
	}
	cs, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	f := &facts{name: spec.Name, cfg: cfg}
	if f.name == "" {
		f.name = cfg.Host
	}
	ver, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("cluster in %s does not answer at %s: %w", spec.Kubeconfig, cfg.Host, err)
	}
	f.version = ver.GitVersion
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("listing nodes at %s: %w", cfg.Host, err)
	}
	f.workers = readWorkers(nodes.Items)
	if f.cp, err = readControlPlane(ctx, cs); err != nil {
		return nil, fmt.Errorf("cluster at %s: %w", cfg.Host, err)
	}
	given := spec.QPSProfile
	recorded, err := recordedProfile(spec.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if given == "" {
		given = recorded
	}
	f.profile = resolveProfile(f.cp, given, local.Profiles)
	// Check hands the profile to Up as given: still the recorded one.
	if recorded != "" && given == recorded && f.profile.Refusal == nil {
		f.profile.Source = strings.Replace(f.profile.Source, "given by --qps-profile", "recorded by `cluster up` in "+HostsFile, 1)
	}
	if f.profile.Refusal != nil {
		f.refused = append(f.refused, *f.profile.Refusal)
	}
	f.refused = append(f.refused, f.workers.refusals(f.name, spec)...)
	f.delay, _ = f.workers.sandboxDelay(f.name)
	return f, nil
}

// Check implements clusters.Checker: spec with the cluster's QPS profile,
// and what the cluster refuses.
func (p Provider) Check(ctx context.Context, spec clusters.Spec) (clusters.Spec, clusters.Refusals, error) {
	f, err := p.inspect(ctx, spec)
	if err != nil {
		return spec, nil, err
	}
	if f.profile.Name != "" {
		spec.QPSProfile = f.profile.Name
	}
	return spec, f.refused, nil
}

// Up checks that the cluster answers and gives what spec asks, and
// describes it: its Ready workers, their sandbox delay and the QPS profile
// of its control plane.
func (p Provider) Up(ctx context.Context, spec clusters.Spec) (*clusters.Cluster, error) {
	f, err := p.inspect(ctx, spec)
	if err != nil {
		return nil, err
	}
	if len(f.refused) > 0 {
		return nil, fmt.Errorf("cluster %s at %s: %w", f.name, f.cfg.Host, f.refused)
	}
	comps := map[string]string{apiserver: f.version}
	c := &clusters.Cluster{
		Name: f.name, Provider: ProviderName, Kubeconfig: spec.Kubeconfig, REST: f.cfg, Nodes: f.workers.Ready,
		QPSProfile: f.profile.Name, QPSProfileSource: f.profile.Source, SandboxDelay: f.delay,
		Components: comps, Flags: f.cp.Args,
		Endpoints: map[string]string{apiserver: f.cfg.Host},
	}
	if err := attachHosts(ctx, c); err != nil {
		return nil, fmt.Errorf("cluster %s at %s: %w", f.name, f.cfg.Host, err)
	}
	return c, nil
}

// Down does nothing: kdbench does not own an existing cluster.
func (Provider) Down(context.Context, string) error { return nil }

// Status needs the kubeconfig, which only Up receives; use `kubectl` instead.
func (Provider) Status(_ context.Context, name string) (*clusters.Status, error) {
	return &clusters.Status{Name: name, Provider: ProviderName,
		Problems: []string{"the existing provider keeps no state; `kdbench cluster up --provider existing --kubeconfig F` checks a cluster"}}, nil
}
