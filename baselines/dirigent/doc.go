// Package dirigent is a clean-slate implementation of Dirigent's design
// (Cvetković et al., SOSP'24) for the local cluster: a FaaS orchestrator that
// keeps its state in memory instead of an API server.
//
// A Deployment runs the paper's three components as separate servers on
// loopback, each in its own goroutines, talking HTTP/JSON so every hop pays a
// real network round trip:
//
//   - the ControlPlane holds functions, sandboxes and workers in memory,
//     serves the function registration API, runs Dirigent's autoscaler
//     (Autoscaler) on the metrics the data planes report, places sandboxes on
//     the least-allocated worker, and re-creates the sandboxes of workers
//     whose heartbeats stop;
//   - a DataPlane proxies invocations: a queue per function, load balancing
//     over Ready sandboxes with concurrency 1 each, and cold starts that wait
//     in the queue (up to the dispatch timeout) until a sandbox is Ready;
//   - Worker daemons create and delete sandboxes; the creation cost is
//     configurable (the paper's scalability mode sleeps 40 ms per sandbox) and
//     the sandboxes themselves run behind the Runtime interface, so the local
//     cluster's function servers can back them (a sandbox with a server of
//     its own is called by the data planes directly).
//
// With a Backend instead of worker daemons, the control plane keeps only
// Dirigent's front-end role (autoscaling, pushing Ready sandboxes to the data
// planes) and asks another orchestrator for the sandboxes: the shape of the
// Kubedirect paper's dr-k8s+ and dr-kd+. Every component serves Prometheus
// metrics at /metrics (Deployment.MetricsEndpoints). State is not
// persisted: a control plane restart starts empty.
//
// Invoke returns per-invocation records in the InVitro loader's result format
// (workloads/trace.Record), so the Fig 13 metrics apply unchanged. As the
// baselines.System "dirigent" it is a replay front-end (StartFrontEnd, for
// `kdbench run azure-trace`) that ignores the cluster's API server; it has
// no pods, so the burst experiments refuse it (baselines.Podless).
package dirigent
