// Package controllers runs the upstream Kubernetes v1.32 Deployment
// controller, ReplicaSet controller and scheduler, unchanged, as Kubedirect
// hops. Each subpackage is one process's adapter (kept small: `go test
// ./kubedirect/controllers -run TestAdapterLines -v` prints the lines per
// controller); package adapter holds what they share.
//
// The narrow waist, one hop per process, links dialled downstream:
//
//	autoscaler (harness) → deployment → replicaset → scheduler → nodeagent
//
// What goes where:
//   - Kubedirect-managed objects (label kubedirect.io/managed=true on the
//     Deployment and its pod template) scale over the links: Deployment and
//     ReplicaSet replicas are scale records overlaid on the API server's
//     objects (adapter.Overlay), pods are descriptors that exist only in the
//     hops' caches until the node agent creates them in the API server
//     (adapter.Union serves them next to the API server's unmanaged pods).
//   - Unmanaged objects keep the API-server path through the same upstream
//     code, so an ordinary Deployment works on a kd cluster. This is why the
//     cluster's kube-controller-manager must not run its own deployment and
//     replicaset controllers (--controllers=*,-deployment,-replicaset): two
//     ReplicaSet controllers would fight over managed pods.
//   - The kube-scheduler stays for unmanaged pods; the kd scheduler sees only
//     managed pending pods (plus every bound pod, for node accounting) and
//     binds them with a Bind plugin that sends them to the node agent.
package controllers
