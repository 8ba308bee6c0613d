// Package metrics computes the trace experiments' per-function metrics
// (paper Figs 12–13) and reads the microbenchmarks' totals (Figs 9–11), from
// loader-format result CSVs and from the Kubedirect artifact's own logs,
// under a named rule set. It is the only place kdbench decides which
// invocations count, how they are grouped into functions and how a
// function's invocations are averaged; docs/metrics.md describes the rule
// sets and the function identity with examples.
package metrics
