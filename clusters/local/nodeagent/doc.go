// Package nodeagent is kdbench's simulated kubelet: one process that registers many
// Nodes, keeps their Leases fresh, and drives every pod bound to them to Running and
// Ready after a configurable sandbox start delay.
//
// Every system kdbench compares (vanilla Kubernetes and Kubedirect, with or without the
// "+" lifecycle) runs on this same agent, so that comparisons measure the control plane
// and not the node simulator. kwok (sigs.k8s.io/kwok) is the model for the node and pod
// stages; the agent is written directly against client-go so that it shares the
// Kubernetes v1.32 module set of the rest of kdbench.
//
// Structure:
//   - nodes.go and register.go build and register the Node objects (parallel, idempotent);
//   - heartbeat.go renews Leases in kube-node-lease and posts node status heartbeats,
//     staggered over the renew interval so that thousands of nodes give a steady load;
//   - source.go defines the PodSource/PodSink seam and the informer-backed source
//     (one shared pod informer for all nodes);
//   - lifecycle.go owns per-pod state and the worker pool that marks pods Running and
//     Ready and deletes pods that are being deleted;
//   - podstatus.go computes the Running status, ipam.go hands out pod IPs.
package nodeagent
