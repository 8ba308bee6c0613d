// Package autoscaler scales FaaS functions the way Knative's KPA does.
//
// Each function gets the real Knative decider (knative.dev/serving's
// pkg/autoscaler/scaling), fed with the gateway's concurrency (in-flight plus
// queued invocations, as the activator counts it when it is always in the
// request path) through Knative's own time-bucketed stable and panic windows
// (pkg/autoscaler/aggregation). What the KPA reconciler adds on top of the
// decider — when a function may go to zero, and the poke that scales a
// function up from zero on its first request — is reimplemented here, because
// the reconciler needs Knative's CRDs and clients. Decisions are applied by
// calling a Scaler, which in kdbench is the inner system's Scale (through the
// API server for k8s, over the Kubedirect link for kd).
//
// Time comes from a k8s.io/utils/clock so tests script load precisely.
package autoscaler
