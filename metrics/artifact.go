package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// The Kubedirect artifact's results tree (experiments/*/results):
//
//	trace/results/k8s/default/k8s.500.csv         Kn/K8s, loader CSV
//	trace/results/dirigent/default/dirigent.500.csv Dirigent, loader CSV
//	trace/results/<kd|k8s+|kd+>/<run>/<sys>.500.log Kn/Kd, Dr/K8s+, Dr/Kd+, driver logs
//	…/<run>/stderr/<sys>.500.log                    the driver's stderr (ignored)
//	microbench/results/<scale-pods|scale-funcs|scale-nodes>/<run>/<kind>.<baseline>.<scale>.log
//
// A trace file is recognised by its name alone, so that the tree may be
// moved or cut: k8s.500.csv is the artifact's Kn/K8s, never the burst
// system k8s.

// ArtifactTraceSystems maps the artifact's trace directory (and file) names
// to kdbench's systems.
var ArtifactTraceSystems = map[string]string{
	"k8s":      "kn-k8s",
	"kd":       "kn-kd",
	"k8s+":     "dr-k8s+",
	"kd+":      "dr-kd+",
	"dirigent": "dirigent",
}

var artifactTraceFile = regexp.MustCompile(`^(k8s|kd|k8s\+|kd\+|dirigent)\.([0-9]+)\.(csv|log)$`)

// ArtifactTraceSystem returns the kdbench system of an artifact trace result
// file (<sys>.<functions>.csv|log), or "" if the name is not one.
func ArtifactTraceSystem(path string) string {
	m := artifactTraceFile.FindStringSubmatch(filepath.Base(path))
	// The run scripts copy the driver's stderr to <run>/stderr/<sys>.500.log.
	if m == nil || filepath.Base(filepath.Dir(path)) == "stderr" {
		return ""
	}
	return ArtifactTraceSystems[m[1]]
}

// MicrobenchExperiments are the artifact's microbenchmark directories, named
// as kdbench's burst experiments.
var MicrobenchExperiments = []string{"scale-pods", "scale-funcs", "scale-nodes"}

// MicrobenchFile is one artifact microbenchmark log: <kind>.<baseline>.<scale>.log
// under results/<experiment>/<run>/. Kind "e2e" is the end-to-end burst
// (baselines k8s, kd, k8s+, kd+, which are kdbench's systems of the same
// names); "_rs", "_sched", "_runtime", "_as", "_dp", "_ep" are the
// per-controller microbenchmarks.
type MicrobenchFile struct {
	Path, Experiment, Run, Kind, Baseline string
	Scale                                 int
}

var microbenchFile = regexp.MustCompile(`^(e2e|_rs|_sched|_runtime|_as|_dp|_ep)\.([A-Za-z0-9+]+)\.([0-9]+)\.log$`)

// ArtifactMicrobench recognises a microbenchmark log by its name and its
// directory's parent (the experiment); ok is false for anything else.
func ArtifactMicrobench(path string) (MicrobenchFile, bool) {
	m := microbenchFile.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return MicrobenchFile{}, false
	}
	run := filepath.Dir(path)
	exp := filepath.Base(filepath.Dir(run))
	known := false
	for _, e := range MicrobenchExperiments {
		known = known || e == exp
	}
	scale, err := strconv.Atoi(m[3])
	if !known || err != nil {
		return MicrobenchFile{}, false
	}
	return MicrobenchFile{Path: path, Experiment: exp, Run: filepath.Base(run), Kind: m[1], Baseline: m[2], Scale: scale}, true
}

// totalLine is what the artifact's plot.py searches a microbenchmark log
// for (re.search: the first match anywhere).
var totalLine = regexp.MustCompile(`total:\s*(\d+)\s*us`)

// ReadTotal returns a microbenchmark log's "total: <N> us". For the e2e
// burst it is the p90 of the pods' first-Ready times after the scale-up
// (sorted, index ⌊0.9·n⌋: TotalRule), not the last pod. A log without the
// line is an error naming it (plot.py draws a 0 bar).
func ReadTotal(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	m := totalLine.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("%s: no \"total: <N> us\" line (the run did not finish; the artifact's plot.py draws it as 0)", path)
	}
	v, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: total %q: %w", path, m[1], err)
	}
	return v, nil
}

// TotalRule says what an artifact microbenchmark total is.
const TotalRule = "p90 of the pods' first-Ready times, element ⌊0.9·n⌋ of the sorted times (the artifact's e2e/common.go)"
