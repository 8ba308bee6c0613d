// Package replay drives a FaaS front-end with a generated trace, as the
// InVitro loader does: each invocation is issued at its scheduled offset from
// the start (never waiting for earlier ones), and every outcome becomes a row
// of the loader's per-invocation result CSV, in completion order. The
// accounting holds by construction: issued = completed + failed, with each
// failure's reason counted.
//
// A front-end is a system's own (kdbench's gateway, Dirigent's data plane)
// or, for a platform kdbench does not run in-process (real Knative),
// HTTPFrontEnd: one HTTP request per invocation to its activator or
// ingress, as the loader sends them.
package replay
