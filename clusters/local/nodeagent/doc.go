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
//   - podstatus.go computes the Running status, ipam.go hands out pod IPs;
//   - timings.go keeps per-pod bound/ready times for the harness (served as CSV);
//   - rbac.go lists the permissions the agent's identity needs.
//
// Metrics (on the registry given with WithRegisterer), all prefixed kdbench_nodeagent_:
// pod_ready_lag_seconds (bound seen, or in direct mode the bind's arrival over the
// link → Ready written, minus the sandbox delay: the "node-agent lag" self-check), pod_status_update_duration_seconds (the API server's
// share of it), pods_started_total, pods_deleted_total, pod_status_update_errors_total,
// pod_delete_errors_total, lease_renew_errors_total, node_status_update_errors_total,
// nodes, pods, pod_queue_length, node_registration_duration_seconds and
// sandbox_delay_seconds.
package nodeagent
