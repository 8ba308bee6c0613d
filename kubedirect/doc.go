// Package kubedirect is the Kubedirect protocol library used by kdbench: direct
// links between adjacent hops of the narrow waist (autoscaler → Deployment
// controller → ReplicaSet controller → scheduler → node agent), a per-hop
// hierarchical write-back cache, link/peer invalidation, and tombstones.
//
// Layout:
//   - wire: records, frames and their binary codec.
//   - link: transports (gRPC bidirectional stream, in-memory pipes).
//   - cache: the per-hop record store with lattice merge and a watch log.
//   - hop: the hop state machine (epochs, resync, routing, GC) and its runtime.
//   - refhops: reference hop logic (used by tests, benchmarks and as an example).
//   - ingress / egress: the contracts the wrapped Kubernetes controllers use.
//   - metrics: Prometheus metrics per link.
//   - chain: a loopback chain of hops for tests and benchmarks.
//   - model: seeded fault-injection model tests.
package kubedirect
