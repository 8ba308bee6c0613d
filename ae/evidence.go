package ae

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/metrics"
)

// DefaultTraceWarmupMinutes is the papers' warm-up: invocations of the
// first 10 minutes are dropped from the trace metrics.
const DefaultTraceWarmupMinutes = 10

// Evidence is everything measured that the report draws on: burst results
// directories, per-invocation trace results per system (loader CSVs or the
// artifact's logs) and the artifact's microbenchmark totals.
type Evidence struct {
	Runs []*results.Run
	// Traces holds each system's per-invocation trace results and the
	// files they came from.
	Traces map[string]*metrics.Source
	// TraceWarmupMinutes is dropped from the start of each trace.
	TraceWarmupMinutes int
	// Rules computes the trace metrics (default metrics.Artifact).
	Rules metrics.Rules
	// Microbench holds the artifact's microbenchmark totals.
	Microbench []Microbench
	// Missing says, per "experiment/system", why nothing was measured
	// (from the pipeline's state).
	Missing map[string]string
	// Warnings are files that could not be used, and why.
	Warnings []string
}

func newEvidence() *Evidence {
	return &Evidence{Traces: map[string]*metrics.Source{}, Rules: metrics.Artifact,
		TraceWarmupMinutes: DefaultTraceWarmupMinutes, Missing: map[string]string{}}
}

// why explains the absence of data for an experiment on a system.
func (e *Evidence) why(experiment, system string) string {
	if r, ok := e.Missing[experiment+"/"+system]; ok {
		return r
	}
	return fmt.Sprintf("no %s results for %s", experiment, system)
}

// EvidenceFromState gathers what the pipeline's steps wrote under out.
func EvidenceFromState(out string, st *State, p *Profile) *Evidence {
	ev := newEvidence()
	if p != nil {
		for _, x := range p.Experiments {
			if x.Name == "azure-trace" {
				fmt.Sscan(x.Params["warmupMinutes"], &ev.TraceWarmupMinutes)
			}
		}
	}
	ids := make([]string, 0, len(st.Steps))
	for id := range st.Steps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ss := st.Steps[id]
		exp, sys, _ := strings.Cut(id, "/")
		if p != nil {
			if i := slices.IndexFunc(p.Experiments, func(x Experiment) bool { return x.Key() == exp }); i >= 0 {
				exp = p.Experiments[i].Name
			}
		}
		switch {
		case ss.Status == StatusNotRun:
			ev.Missing[exp+"/"+sys] = "not run: " + ss.Error
		case ss.ResultsDir == "":
			ev.Missing[exp+"/"+sys] = fmt.Sprintf("step %s %s without results: %s", id, ss.Status, ss.Error)
		default:
			if ss.Status == StatusFailed {
				ev.Warnings = append(ev.Warnings, fmt.Sprintf("step %s failed (%s); its completed repetitions are used", id, ss.Error))
			}
			dir := filepath.FromSlash(ss.ResultsDir)
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(out, dir)
			}
			ev.addDir(dir, sys)
		}
	}
	return ev
}

// EvidenceFromDir gathers every results directory and loader-format result
// CSV under root. A CSV's system is the name of its directory or its file
// name before "_duration_" or ".csv", whichever is a known system.
func EvidenceFromDir(root string) (*Evidence, error) {
	if _, err := os.Stat(root); err != nil {
		return nil, err
	}
	ev := newEvidence()
	ev.addDir(root, "")
	return ev, nil
}

// addDir adds root, a results directory or a tree holding them and trace
// CSVs; system, if set, is whose trace CSVs they are.
func (ev *Evidence) addDir(root, system string) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			ev.Warnings = append(ev.Warnings, err.Error())
			return nil
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(path, results.ManifestFile)); err == nil {
				r, err := results.Open(path)
				if err != nil {
					ev.Warnings = append(ev.Warnings, err.Error())
				} else {
					ev.Runs = append(ev.Runs, r)
				}
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case metrics.ArtifactTraceSystem(path) != "":
			ev.addTrace(path, metrics.ArtifactTraceSystem(path))
		case strings.HasSuffix(path, ".csv") && isLoaderCSV(path):
			ev.addTrace(path, system)
		default:
			if f, ok := metrics.ArtifactMicrobench(path); ok {
				ev.addMicrobench(f)
			}
		}
		return nil
	})
	if err != nil {
		ev.Warnings = append(ev.Warnings, err.Error())
	}
}

func (ev *Evidence) addTrace(path, system string) {
	if system == "" {
		system = traceSystem(path)
	}
	if system == "" {
		ev.Warnings = append(ev.Warnings, fmt.Sprintf("%s: cannot tell which system it measured; put it in a directory named after the system (one of %s)", path, strings.Join(Systems, ", ")))
		return
	}
	src := ev.Traces[system]
	if src == nil {
		src = &metrics.Source{System: system}
	}
	// plot.py reads one run of each system; a second artifact run would
	// average two replays' invocations per function.
	if a := metrics.ArtifactTraceSystem(path); a != "" && len(src.Files) > 0 {
		ev.Warnings = append(ev.Warnings, fmt.Sprintf("%s: left out; %s is taken from %s (the artifact's plot.py reads one run per system)", path, system, src.Files[0]))
		return
	}
	if err := src.Add(path); err != nil {
		ev.Warnings = append(ev.Warnings, err.Error())
		return
	}
	ev.Traces[system] = src
}

func traceSystem(path string) string {
	if dir := filepath.Base(filepath.Dir(path)); slices.Contains(Systems, dir) {
		return dir
	}
	base := strings.TrimSuffix(filepath.Base(path), ".csv")
	base, _, _ = strings.Cut(base, "_duration_")
	// The replay spells names with baselines.Slug (dr-kd-plus); results
	// from before that used "plus" alone (dr-kdplus).
	for _, s := range Systems {
		if base == s || base == baselines.Slug(s) || base == strings.ReplaceAll(s, "+", "plus") {
			return s
		}
	}
	return ""
}

// isLoaderCSV says whether the file's header is the loader's result header.
func isLoaderCSV(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(line), "phase,instance,invocationID")
}

// burstValues returns, per QPS profile and size, the measured repetitions'
// values of m for system in experiment, from the latest run that has them.
func (ev *Evidence) burstValues(experiment, system string, m results.Metric) (map[sizeKey][]float64, *results.Run, error) {
	var best *results.Run
	var bestVals map[sizeKey][]float64
	var errs []error
	for _, r := range ev.Runs {
		man := r.Manifest()
		if man.Experiment != experiment || !slices.Contains(man.Systems, system) {
			continue
		}
		pd, err := r.Summary()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Dir, err))
			continue
		}
		vals, err := pd.RepValues(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Dir, err))
			continue
		}
		out := map[sizeKey][]float64{}
		for c, xs := range vals {
			if c.System == system && len(xs) > 0 {
				out[sizeKey{c.QPSProfile, c.Size}] = xs
			}
		}
		if len(out) > 0 && (best == nil || man.Start.After(best.Manifest().Start)) {
			best, bestVals = r, out
		}
	}
	if best == nil {
		if vals := ev.artifactE2E(experiment, system); vals != nil {
			if m == e2eP90 {
				return vals, nil, nil
			}
			return nil, nil, fmt.Errorf("the artifact's %s logs of %s hold only the e2e total, not its %s (its breakdown microbenchmarks are separate runs, not a split of the e2e burst)", experiment, system, m.Name)
		}
		if len(errs) > 0 {
			return nil, nil, errors.Join(errs...)
		}
		return nil, nil, errors.New(ev.why(experiment, system))
	}
	return bestVals, best, nil
}

// sizeKey is one point of a burst experiment for one system.
type sizeKey struct {
	profile string
	size    int
}

func (k sizeKey) String() string {
	if k.profile == "" {
		return fmt.Sprint(k.size)
	}
	return fmt.Sprintf("%d (%s)", k.size, k.profile)
}
