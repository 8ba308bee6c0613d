// Package sandbox is the function runtime of the local cluster's pods: a small
// HTTP server per Ready pod that executes invocations for their requested
// duration and reports what it measured.
//
// A plain pod's sandbox listens on the loopback address mapped from the pod's
// (non-loopback, simulated) IP. Linux routes all of 127.0.0.0/8 to the
// loopback interface, so every pod of every simulated node can have an
// address of its own without any network setup: pod IP a.b.c.d serves on
// 127.b.c.d (Addr). The mapping is unique as long as the pod CIDR lies within
// one /8, which the node agent's default (10.128.0.0/9) does.
//
// A Knative pod (KnativeQueue: the serving.knative.dev/revision label or a
// queue-proxy container) is served at its own IP, since real Knative's
// activator and autoscaler dial pods there: the sandbox is its user container,
// on its user port, behind a queue-proxy (QueueProxy) on Knative's ports built
// from knative.dev/serving's pkg/queue — the activator's probe and requests on
// 8012, with Knative's breaker for containerConcurrency and its request
// accounting, and the autoscaler's Stat protobuf on 9090. The IP must be an
// address of this machine (a local route for the pod CIDR, e.g. in the
// cluster's network namespace); a Knative pod whose IP is not is refused, never
// moved to loopback.
//
// An invocation sleeps by default (the papers' workload pods sleep); Spin
// busy-waits instead, burning a CPU. Memory is recorded, not allocated, unless
// Allocate asks for it.
package sandbox
