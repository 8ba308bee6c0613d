// Package existing attaches kdbench to a cluster it did not start, given a
// kubeconfig. It never stops that cluster: Down only forgets it.
package existing

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kdbench/kdbench/clusters"
)

// ProviderName is the provider's name on the command line.
const ProviderName = "existing"

func init() {
	clusters.Register(ProviderName, func() clusters.Provider { return Provider{} })
}

// Provider implements clusters.Provider for any reachable cluster.
type Provider struct{}

func (Provider) Name() string { return ProviderName }

// Up checks that the cluster answers and counts its Ready nodes.
func (Provider) Up(ctx context.Context, spec clusters.Spec) (*clusters.Cluster, error) {
	if spec.Kubeconfig == "" {
		return nil, errors.New("the existing provider needs --kubeconfig")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", spec.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", spec.Kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ver, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("cluster in %s does not answer at %s: %w", spec.Kubeconfig, cfg.Host, err)
	}
	n, err := countReady(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("listing nodes at %s: %w", cfg.Host, err)
	}
	name := spec.Name
	if name == "" {
		name = cfg.Host
	}
	return &clusters.Cluster{
		Name: name, Provider: ProviderName, Kubeconfig: spec.Kubeconfig, REST: cfg, Nodes: n,
		QPSProfile: "unknown", // set by whoever runs that cluster
		Components: map[string]string{"kube-apiserver": ver.GitVersion},
		Endpoints:  map[string]string{"kube-apiserver": cfg.Host},
	}, nil
}

// Down does nothing: kdbench does not own an existing cluster.
func (Provider) Down(context.Context, string) error { return nil }

// Status needs the kubeconfig, which only Up receives; use `kubectl` instead.
func (Provider) Status(_ context.Context, name string) (*clusters.Status, error) {
	return &clusters.Status{Name: name, Provider: ProviderName,
		Problems: []string{"the existing provider keeps no state; `kdbench cluster up --provider existing --kubeconfig F` checks a cluster"}}, nil
}

func countReady(ctx context.Context, cs kubernetes.Interface) (int, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, node := range nodes.Items {
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n, nil
}
