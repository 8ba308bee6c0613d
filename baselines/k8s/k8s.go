// Package k8s is the vanilla Kubernetes baseline: upstream controllers, every
// hop through the API server. "k8s+" is the same control plane with the
// artifact's custom pod lifecycle (sandbox Ready 200 ms after binding).
package k8s

import (
	"context"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
)

// PlusSandboxDelay is the delay the artifact's scripts pass for the "+"
// systems' kubelet lifecycle.
const PlusSandboxDelay = 200 * time.Millisecond

func init() {
	baselines.Register(System{name: "k8s"})
	baselines.Register(System{name: "k8s+", sandboxDelay: PlusSandboxDelay})
}

// System is upstream Kubernetes, unmodified.
type System struct {
	name         string
	sandboxDelay time.Duration
}

// New returns an unregistered system: name with sandbox delay delay (0 for
// the cluster's default lifecycle), for systems built over k8s or k8s+.
func New(name string, sandboxDelay time.Duration) System {
	return System{name: name, sandboxDelay: sandboxDelay}
}

func (s System) Name() string { return s.name }

func (s System) Cluster(spec clusters.Spec) clusters.Spec {
	spec.SandboxDelay = s.sandboxDelay
	return spec
}

// Prepare has nothing to deploy: the cluster's own controllers are the system.
func (System) Prepare(context.Context, baselines.Env) error { return nil }

// Scale writes the Deployment's scale subresource, as the artifact's
// autoscaler and `kubectl scale` do.
func (System) Scale(ctx context.Context, env baselines.Env, namespace, function string, replicas int32) error {
	return baselines.ScaleDeployment(ctx, env.Client, namespace, function, replicas)
}

func (System) Stages() []string { return baselines.KubernetesStages }

func (System) Teardown(context.Context, baselines.Env) error { return nil }
