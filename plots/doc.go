// Package plots draws kdbench's figures with gonum/plot: end-to-end latency
// against burst size, number of functions or number of nodes (the
// Kubedirect paper's Figs 9–11) with bootstrap error bars, stacked per-stage
// breakdowns, and CDFs on a log axis for the trace experiments (Figs 12–13).
//
// The drawing functions (LatencyVsX, StackedBars, CDF) take plain data, so
// any experiment can reuse them; Render turns results directories into the
// burst figures.
package plots
