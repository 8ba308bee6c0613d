// Package trace reads, writes, samples, synthesises and expands serverless
// invocation traces in the format of the InVitro loader
// (github.com/vhive-serverless/loader): a directory holding invocations.csv,
// durations.csv and memory.csv, as derived from the Azure Functions 2019
// dataset.
//
// Compatibility promise: for the same trace directory, seed, IAT distribution,
// granularity and number of minutes, Generate produces the same per-function
// inter-arrival times (bit for bit), runtimes and memory sizes as the loader's
// SpecificationGenerator, because it draws from Go's math/rand with the same
// stream layout (see Generate). The golden files under testdata/golden were
// produced by the loader's own code and are checked by the tests.
//
// The package also writes and reads the loader's per-invocation result CSV
// (<prefix>_duration_<minutes>.csv) and computes the per-function slowdown and
// scheduling-latency metrics used by the Kubedirect and Dirigent papers.
package trace
