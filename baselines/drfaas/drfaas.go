// Package drfaas holds dr-k8s+ and dr-kd+, the Kubedirect paper's Fig 13
// systems: Dirigent's front-end over k8s+ or kd+ as the sandbox backend.
//
// The artifact's dr-* were a Dirigent-style front-end — a gateway with one
// in-flight request per Ready pod that queues requests until a pod is Ready
// (dispatch timeout 30 s), and a KPA port with Dirigent's parameters
// (target 1, a request arriving at zero pods scales to one at once) — over
// the inner system's Scale. That is the knative FrontEnd with the Dirigent
// profile, so the systems here are knative.Systems; only their names and
// profile differ from kn-model and kn-model-kd.
package drfaas

import (
	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/autoscaler"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/baselines/knative"
	"github.com/kdbench/kdbench/workloads/replay"
)

func init() {
	baselines.Register(K8sPlus(k8s.New("k8s+", k8s.PlusSandboxDelay)))
	baselines.Register(KdPlus(kd.New("kd+", kd.PlusSandboxDelay, "")))
}

// Profile is Dirigent's front-end: its data plane's gateway settings and its
// KPA port.
func Profile() knative.Profile {
	return knative.Profile{Autoscaler: autoscaler.Dirigent(), Gateway: gateway.Dirigent(), Facts: replay.FrontEndFacts{
		Real: []string{},
		Modelled: []string{
			"data plane: kdbench's gateway (baselines/faas/gateway) with Dirigent's settings: one in-flight request per Ready pod, 30 s dispatch timeout",
			"autoscaler: Dirigent's KPA-like policy as Knative's KPA decider (" + knative.ServingModule + " pkg/autoscaler/scaling) with Dirigent's parameters",
		},
	}}
}

// K8sPlus is dr-k8s+: Dirigent's front-end over inner (k8s+).
func K8sPlus(inner baselines.System) *knative.System { return knative.New("dr-k8s+", inner, Profile()) }

// KdPlus is dr-kd+: Dirigent's front-end over inner (kd+).
func KdPlus(inner baselines.System) *knative.System { return knative.New("dr-kd+", inner, Profile()) }
