// Package gateway is kdbench's activator: the FaaS front-end every invocation
// passes through. It holds invocations of a function while no instance can
// take them (a cold start queues until an instance is ready), routes each to
// a ready instance with a free slot under the per-instance concurrency limit
// (Knative's containerConcurrency), reports the function's concurrency
// (in-flight + queued) to the autoscaler, and times every invocation into a
// trace.Record of the InVitro loader's result format.
//
// Instances come from a pluggable source: SetInstances is called with a
// function's full ready set whenever it changes (PodSource does so from an
// informer over Ready pods; tests call it directly with fakes).
package gateway
