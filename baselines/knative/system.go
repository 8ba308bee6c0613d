// Package knative holds Knative's FaaS systems. kn-k8s and kn-kd (Real)
// are real Knative Serving 1.15 (baselines/knative/serving) over upstream
// Kubernetes and over Kubedirect, on the local cluster. kn-model and
// kn-model-kd (System) are kdbench's model of Knative's front-end (an
// activator-like gateway always in the request path and Knative's KPA
// decider in the harness, baselines/faas) over the same cluster managers —
// Kubedirect's Scale going over the direct link — for fast runs and as a
// control; none of Knative's controllers, activator or queue-proxy run in
// them.
//
// As baselines.System all four behave as their inner system (the bursts
// scale Deployments directly); the trace replay starts a front-end per run.
package knative

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/autoscaler"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/workloads/replay"
)

// The modelled front-end's names, over k8s and over kd.
const (
	ModelK8s = "kn-model"
	ModelKd  = "kn-model-kd"
)

func init() {
	baselines.Register(New(ModelK8s, k8s.New("k8s", 0), KnativeProfile()))
	baselines.Register(New(ModelKd, kd.New("kd", 0, ""), KnativeProfile()))
	baselines.Register(NewReal(RealK8s, k8s.New("k8s", 0)))
	baselines.Register(NewReal(RealKd, kd.New("kd", 0, "")))
}

// System is a front-end over an inner system.
type System struct {
	name    string
	inner   baselines.System
	profile Profile
}

var (
	_ baselines.DeploymentDecorator = (*System)(nil)
	_ baselines.Observable          = (*System)(nil)
	_ baselines.Processes           = (*System)(nil)
	_ replay.FrontEnder             = (*System)(nil)
	_ replay.Describer              = (*System)(nil)
)

// New wraps inner under the name name.
func New(name string, inner baselines.System, p Profile) *System {
	return &System{name: name, inner: inner, profile: p}
}

// Inner is the cluster manager under the front-end.
func (s *System) Inner() baselines.System { return s.inner }

// Dead is the inner system's (baselines.Live).
func (s *System) Dead() error { return baselines.Dead(s.inner) }

// Processes are the inner system's own processes (baselines.Processes),
// none if it runs none.
func (s *System) Processes() map[string]int {
	if p, ok := s.inner.(baselines.Processes); ok {
		return p.Processes()
	}
	return nil
}

// Profile is the front-end's configuration.
func (s *System) Profile() Profile { return s.profile }

func (s *System) Name() string                             { return s.name }
func (s *System) Cluster(spec clusters.Spec) clusters.Spec { return s.inner.Cluster(spec) }
func (s *System) Prepare(ctx context.Context, env baselines.Env) error {
	return s.inner.Prepare(ctx, env)
}

func (s *System) Scale(ctx context.Context, env baselines.Env, namespace, function string, replicas int32) error {
	return s.inner.Scale(ctx, env, namespace, function, replicas)
}

func (s *System) Stages() []string { return s.inner.Stages() }

func (s *System) Teardown(ctx context.Context, env baselines.Env) error {
	return s.inner.Teardown(ctx, env)
}

// DecorateDeployment marks Deployments as the inner system needs.
func (s *System) DecorateDeployment(d *appsv1.Deployment) {
	if dd, ok := s.inner.(baselines.DeploymentDecorator); ok {
		dd.DecorateDeployment(d)
	}
}

// Endpoints are the inner system's components.
func (s *System) Endpoints() map[string]string {
	if o, ok := s.inner.(baselines.Observable); ok {
		return o.Endpoints()
	}
	return nil
}

// NodeAgent is the inner system's node agent ("" for the cluster's).
func (s *System) NodeAgent() string {
	if o, ok := s.inner.(baselines.Observable); ok {
		return o.NodeAgent()
	}
	return ""
}

// FrontEnd starts the system's front-end for functions in namespace, its
// autoscaler scaling through the inner system. Sandboxes run in this process
// (the node agents serve none unless started with --function-sandboxes).
func (s *System) FrontEnd(ctx context.Context, env baselines.Env, namespace string, functions []string) (*FrontEnd, error) {
	scale := autoscaler.Scaler(func(ctx context.Context, ns, fn string, n int32) error {
		return s.inner.Scale(ctx, env, ns, fn, n)
	})
	return Start(ctx, Options{Client: env.Client, Namespace: namespace, Functions: functions, Scale: scale,
		Profile: s.profile, InProcessSandboxes: true, Logf: env.Logf})
}

// FrontEndFacts are the profile's, over the inner system.
func (s *System) FrontEndFacts() replay.FrontEndFacts {
	f := s.profile.Facts
	f.Over = s.inner.Name()
	f.Real, f.Modelled = slices.Clone(f.Real), slices.Clone(f.Modelled)
	return f
}

// StartFrontEnd implements replay.FrontEnder.
func (s *System) StartFrontEnd(ctx context.Context, env baselines.Env, namespace string, functions []string) (replay.FrontEnd, error) {
	fe, err := s.FrontEnd(ctx, env, namespace, functions)
	if err != nil {
		return nil, err
	}
	return fe, nil
}
