// Package results is kdbench's one on-disk results format: every run writes
// a directory through it and every consumer (plot, compare, ae
// --from-results) reads through it, so none of them needs a cluster and a
// crashed run stays readable.
//
// A run directory, results/<UTC start>-<experiment>/, holds:
//
//	manifest.json    what ran, where, with which versions and flags, and the
//	                 status of every repetition (ok, failed with a reason)
//	pods.csv         one row per pod per repetition, Unix-nanosecond
//	                 timestamps of every milestone (empty = not observed)
//	summary.json     ClusterLoader2 perfdata: per-repetition percentiles of
//	                 every stage and medians over repetitions with bootstrap
//	                 95 % intervals
//	selfchecks.json  the harness's own health (throttling, watch lag, …)
//	metrics/         raw Prometheus scrapes before and after each repetition
//	figures/         plots drawn from the above
//
// Every file is written to a temporary name and renamed, and pods.csv grows
// one whole repetition at a time, so a crash leaves the completed
// repetitions intact. Open rejects a directory of another schema version,
// naming the file and both versions.
package results
