package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kdbench/kdbench/internal/buildinfo"
	"github.com/kdbench/kdbench/internal/stats"
)

// File and directory names inside a run directory.
const (
	ManifestFile   = "manifest.json"
	PodsFile       = "pods.csv"
	SummaryFile    = "summary.json"
	SelfChecksFile = "selfchecks.json"
	MetricsDir     = "metrics"
	FiguresDir     = "figures"
)

// now is the clock; tests replace it to get reproducible files.
var now = time.Now

// dirTimeFormat is the UTC start time prefix of a run directory's name.
const dirTimeFormat = "20060102T150405Z"

// Run is one run directory, being written (Create) or read (Open). Its
// methods are safe for concurrent use.
type Run struct {
	// Dir is the run directory.
	Dir string

	mu       sync.Mutex
	readOnly bool
	manifest Manifest
	checks   []SelfCheck
	written  map[key]bool // repetitions already in pods.csv
	summary  *PerfData    // read from summary.json, if present
	// Boot is how Finish and Summary compute intervals (zero: defaults).
	Boot stats.BootstrapOptions
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// Create makes a new run directory under root and writes its manifest.
// Fields left zero are filled in: SchemaVersion, Kdbench, Machine, Start
// (now) and Status (running). The directory is named after the UTC start
// time and the experiment, with a numeric suffix if that name is taken.
func Create(root string, m Manifest) (*Run, error) {
	if !nameRE.MatchString(m.Experiment) {
		return nil, fmt.Errorf("results: experiment name %q must be a plain name (letters, digits, . _ + -)", m.Experiment)
	}
	for _, s := range m.Systems {
		if !nameRE.MatchString(s) {
			return nil, fmt.Errorf("results: system name %q must be a plain name", s)
		}
	}
	for _, n := range m.Sizes {
		if n <= 0 {
			return nil, fmt.Errorf("results: size %d: sizes must be positive", n)
		}
	}
	if m.Reps < 0 || m.WarmupReps < 0 {
		return nil, fmt.Errorf("results: reps (%d) and warm-up reps (%d) must not be negative", m.Reps, m.WarmupReps)
	}
	m.SchemaVersion = SchemaVersion
	if m.Kdbench == (Build{}) {
		m.Kdbench = Build{Version: buildinfo.Version, Revision: buildinfo.Revision()}
	}
	if m.Machine == (MachineFacts{}) {
		m.Machine = LocalMachine()
	}
	if m.Start.IsZero() {
		m.Start = now()
	}
	m.Start = m.Start.UTC()
	m.Status = RunRunning
	m.End = nil
	if m.RepStatuses == nil {
		m.RepStatuses = []RepStatus{}
	}

	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	base := m.Start.Format(dirTimeFormat) + "-" + m.Experiment
	var dir string
	for i := 1; ; i++ {
		dir = filepath.Join(root, base)
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", dir, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return nil, fmt.Errorf("results: %w", err)
		}
	}
	for _, sub := range []string{MetricsDir, FiguresDir} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
	}
	r := &Run{Dir: dir, manifest: m, written: map[key]bool{}}
	if err := r.writeManifest(); err != nil {
		return nil, err
	}
	return r, nil
}

// SchemaError is returned by Open for a file of another schema version.
type SchemaError struct {
	File    string
	Version string
	Want    string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("results: %s has schema version %s, but this kdbench reads version %s; use a kdbench of the matching version to read it", e.File, e.Version, e.Want)
}

// Open reads a run directory, complete or not. A run that crashed still
// opens: repetitions that were never marked read as incomplete, and a
// missing summary.json is recomputed from pods.csv by Summary.
func Open(dir string) (*Run, error) {
	r := &Run{Dir: dir, readOnly: true, written: map[key]bool{}}
	mpath := filepath.Join(dir, ManifestFile)
	if _, err := os.Stat(mpath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("results: %s is not a kdbench results directory: %s is missing", dir, ManifestFile)
	}
	var probe struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := readJSON(mpath, &probe); err != nil {
		return nil, err
	}
	if probe.SchemaVersion == nil {
		return nil, &SchemaError{File: mpath, Version: "(none)", Want: fmt.Sprint(SchemaVersion)}
	}
	if *probe.SchemaVersion != SchemaVersion {
		return nil, &SchemaError{File: mpath, Version: fmt.Sprint(*probe.SchemaVersion), Want: fmt.Sprint(SchemaVersion)}
	}
	if err := readJSON(mpath, &r.manifest); err != nil {
		return nil, err
	}

	cpath := filepath.Join(dir, SelfChecksFile)
	var sc selfChecksFile
	switch err := readJSON(cpath, &sc); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case sc.SchemaVersion != SchemaVersion:
		return nil, &SchemaError{File: cpath, Version: fmt.Sprint(sc.SchemaVersion), Want: fmt.Sprint(SchemaVersion)}
	default:
		r.checks = sc.Checks
	}

	spath := filepath.Join(dir, SummaryFile)
	var pd PerfData
	switch err := readJSON(spath, &pd); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case pd.Version != PerfDataVersion:
		return nil, &SchemaError{File: spath, Version: fmt.Sprintf("%q", pd.Version), Want: fmt.Sprintf("%q (ClusterLoader2 perfdata)", PerfDataVersion)}
	default:
		r.summary = &pd
	}

	// Parse pods.csv now so a malformed file is reported by Open, not later.
	if _, err := r.Pods(); err != nil {
		return nil, err
	}
	return r, nil
}

// Manifest returns a copy of the run's manifest.
func (r *Run) Manifest() Manifest {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.manifest
	m.RepStatuses = slices.Clone(m.RepStatuses)
	return m
}

// Crashed reports whether the run never finished (its process died).
func (r *Run) Crashed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readOnly && r.manifest.Status == RunRunning
}

// Pods reads every pod record written so far.
func (r *Run) Pods() ([]PodRecord, error) {
	path := filepath.Join(r.Dir, PodsFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	return readPods(path, f)
}

var errReadOnly = errors.New("results: run was opened for reading; create a new run to write")

func (r *Run) checkWritable() error {
	if r.readOnly {
		return errReadOnly
	}
	if r.manifest.Status != RunRunning {
		return fmt.Errorf("results: run %s is finished", r.Dir)
	}
	return nil
}

// checkID checks a repetition against the manifest's lists, when given.
func (r *Run) checkID(id RepID) error {
	m := &r.manifest
	switch {
	case id.System == "":
		return fmt.Errorf("results: %s: empty system name", id)
	case len(m.Systems) > 0 && !slices.Contains(m.Systems, id.System):
		return fmt.Errorf("results: %s: system %q is not in the manifest's systems %v", id, id.System, m.Systems)
	case len(m.QPSProfiles) > 0 && !slices.Contains(m.QPSProfiles, id.QPSProfile):
		return fmt.Errorf("results: %s: QPS profile %q is not in the manifest's profiles %v", id, id.QPSProfile, m.QPSProfiles)
	case id.Size <= 0:
		return fmt.Errorf("results: %s: size must be positive", id)
	case len(m.Sizes) > 0 && !slices.Contains(m.Sizes, id.Size):
		return fmt.Errorf("results: %s: size %d is not in the manifest's sizes %v", id, id.Size, m.Sizes)
	case id.Rep < 0:
		return fmt.Errorf("results: %s: negative repetition", id)
	}
	return nil
}

// AppendPods adds one repetition's pods to pods.csv, filling each record's
// repetition columns from id. A repetition is written once: pods.csv is
// rewritten through a temporary file with the new rows appended, so a crash
// leaves every earlier repetition intact. Call it for a failed repetition
// too, with whatever was observed, then MarkRep.
func (r *Run) AppendPods(id RepID, pods []PodRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkWritable(); err != nil {
		return err
	}
	if err := r.checkID(id); err != nil {
		return err
	}
	if r.written[id.key()] {
		return fmt.Errorf("results: %s: pods already written; results are append-only per repetition", id)
	}
	rows := make([]PodRecord, len(pods))
	for i, p := range pods {
		p.System, p.QPSProfile, p.Size, p.Rep, p.Warmup = id.System, id.QPSProfile, id.Size, id.Rep, id.Warmup
		p.Experiment = r.manifest.Experiment
		for j, t := range p.timestamps() {
			if *t < 0 {
				return fmt.Errorf("results: %s: pod %s/%s: negative %s timestamp %d", id, p.Namespace, p.Pod, Milestone(j), *t)
			}
		}
		rows[i] = p
	}
	path := filepath.Join(r.Dir, PodsFile)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("results: %w", err)
	}
	err = writeAtomic(path, func(w io.Writer) error {
		if _, err := io.Copy(w, bytes.NewReader(old)); err != nil {
			return err
		}
		return writePodRows(w, len(old) == 0, rows)
	})
	if err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	r.written[id.key()] = true
	return nil
}

// MarkRep records a repetition's outcome in the manifest: RepOK, or
// RepFailed with cause as the reason. Marking again replaces the outcome.
func (r *Run) MarkRep(id RepID, state RepState, cause error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkWritable(); err != nil {
		return err
	}
	if err := r.checkID(id); err != nil {
		return err
	}
	if state != RepOK && state != RepFailed {
		return fmt.Errorf("results: %s: state %q: want %q or %q", id, state, RepOK, RepFailed)
	}
	if state == RepFailed && cause == nil {
		return fmt.Errorf("results: %s: a failed repetition needs a reason", id)
	}
	st := RepStatus{RepID: id, State: state, Marked: now().UTC()}
	if cause != nil {
		st.Reason = cause.Error()
	}
	m := &r.manifest
	m.RepStatuses = slices.DeleteFunc(m.RepStatuses, func(s RepStatus) bool { return s.key() == id.key() })
	m.RepStatuses = append(m.RepStatuses, st)
	return r.writeManifest()
}

// UpdateManifest lets the caller fill in facts learnt after Create (cluster
// components and flags, for instance) and writes the manifest again. The
// schema version, status and repetition outcomes cannot be changed this way.
func (r *Run) UpdateManifest(update func(*Manifest)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkWritable(); err != nil {
		return err
	}
	m := r.manifest
	m.RepStatuses = slices.Clone(m.RepStatuses)
	update(&m)
	m.SchemaVersion, m.Status, m.End, m.RepStatuses = r.manifest.SchemaVersion, r.manifest.Status, r.manifest.End, r.manifest.RepStatuses
	r.manifest = m
	return r.writeManifest()
}

// AddSelfChecks appends checks to selfchecks.json (rewritten atomically).
func (r *Run) AddSelfChecks(checks ...SelfCheck) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkWritable(); err != nil {
		return err
	}
	for _, c := range checks {
		if c.Name == "" {
			return fmt.Errorf("results: self-check without a name")
		}
		if c.Verdict != VerdictOK && c.Verdict != VerdictWarn {
			return fmt.Errorf("results: self-check %s: verdict %q: want %q or %q (use NewSelfCheck)", c.Name, c.Verdict, VerdictOK, VerdictWarn)
		}
	}
	all := append(slices.Clone(r.checks), checks...)
	if err := writeJSON(filepath.Join(r.Dir, SelfChecksFile), selfChecksFile{SchemaVersion: SchemaVersion, Checks: all}); err != nil {
		return fmt.Errorf("results: writing %s: %w", SelfChecksFile, err)
	}
	r.checks = all
	return nil
}

// SelfChecks returns every recorded self-check.
func (r *Run) SelfChecks() []SelfCheck {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.checks)
}

// HarnessWarnings returns the self-checks whose verdict is warn: if any,
// the harness may have been the bottleneck and the run should say so.
func (r *Run) HarnessWarnings() []SelfCheck {
	var warn []SelfCheck
	for _, c := range r.SelfChecks() {
		if c.Verdict == VerdictWarn {
			warn = append(warn, c)
		}
	}
	return warn
}

// MetricsFileName names a Prometheus scrape of component taken at phase
// ("before", "after") of repetition id, e.g.
// k8s_tuned_100_rep2_after_kube-scheduler.prom.
func MetricsFileName(id RepID, phase, component string) string {
	parts := []string{id.System}
	if id.QPSProfile != "" {
		parts = append(parts, id.QPSProfile)
	}
	parts = append(parts, fmt.Sprint(id.Size), fmt.Sprintf("rep%d", id.Rep), phase, component)
	return strings.Join(parts, "_") + ".prom"
}

// WriteMetrics stores a raw scrape (Prometheus text format) as
// metrics/<name>, atomically. name must be a plain file name; see
// MetricsFileName.
func (r *Run) WriteMetrics(name string, src io.Reader) error {
	return r.store(MetricsDir, name, "metrics file", src)
}

// WriteFile stores another file of the run at its top level, atomically:
// the trace experiments' loader-format invocation CSVs, for instance. name
// must be a plain file name other than the files this package manages.
func (r *Run) WriteFile(name string, src io.Reader) error {
	switch name {
	case ManifestFile, PodsFile, SummaryFile, SelfChecksFile, MetricsDir, FiguresDir:
		return fmt.Errorf("results: %s is managed by the results package; use its own method", name)
	}
	return r.store("", name, "file", src)
}

// store copies src to dir/name in the run directory, atomically.
func (r *Run) store(dir, name, what string, src io.Reader) error {
	r.mu.Lock()
	err := r.checkWritable()
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("results: %s name %q must be a plain file name", what, name)
	}
	path := filepath.Join(r.Dir, dir, name)
	if err := writeAtomic(path, func(w io.Writer) error { _, err := io.Copy(w, src); return err }); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}

// Path returns the path of a file in the run directory (see WriteFile).
func (r *Run) Path(name string) string { return filepath.Join(r.Dir, name) }

// MetricsFiles lists the stored scrapes' paths, sorted.
func (r *Run) MetricsFiles() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(r.Dir, MetricsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(r.Dir, MetricsDir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// FiguresPath is where plots of this run go by default.
func (r *Run) FiguresPath() string { return filepath.Join(r.Dir, FiguresDir) }

// Finish computes summary.json from pods.csv (plus extra items, e.g. a trace
// experiment's), then closes the manifest with the end time and status:
// complete, or failed with runErr. The run cannot be written afterwards.
func (r *Run) Finish(runErr error, extra ...DataItem) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkWritable(); err != nil {
		return err
	}
	pods, err := r.Pods()
	if err != nil {
		return err
	}
	pd, err := Summarize(r.manifest, pods, r.Boot, extra...)
	if err != nil {
		return fmt.Errorf("results: summarising %s: %w", r.Dir, err)
	}
	if err := writeJSON(filepath.Join(r.Dir, SummaryFile), pd); err != nil {
		return fmt.Errorf("results: writing %s: %w", SummaryFile, err)
	}
	r.summary = pd
	end := now().UTC()
	r.manifest.End = &end
	r.manifest.Status = RunComplete
	if runErr != nil {
		r.manifest.Status = RunFailed
		r.manifest.Error = runErr.Error()
	}
	return r.writeManifest()
}

// Summary returns summary.json, or, for a run that crashed before Finish,
// the same summary recomputed from the pods written so far.
func (r *Run) Summary() (*PerfData, error) {
	r.mu.Lock()
	pd, m, boot := r.summary, r.manifest, r.Boot
	r.mu.Unlock()
	if pd != nil {
		return pd, nil
	}
	pods, err := r.Pods()
	if err != nil {
		return nil, err
	}
	return Summarize(m, pods, boot)
}

// Reps returns the outcome of every repetition with pods or a status:
// marked ones as marked, the others RepIncomplete.
func (r *Run) Reps() ([]RepStatus, error) {
	pods, err := r.Pods()
	if err != nil {
		return nil, err
	}
	m := r.Manifest()
	out := slices.Clone(m.RepStatuses)
	marked := map[key]bool{}
	for _, s := range out {
		marked[s.key()] = true
	}
	for _, g := range groupReps(m, pods) {
		if !marked[g.id.key()] {
			out = append(out, RepStatus{RepID: g.id, State: RepIncomplete})
		}
	}
	return out, nil
}

func (r *Run) writeManifest() error {
	path := filepath.Join(r.Dir, ManifestFile)
	if err := writeJSON(path, r.manifest); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}

// Resume reopens for writing a run whose process died before Finish (kill
// -9, power loss) or that ended failed or interrupted, so an experiment can
// add what it had not measured yet. A complete run is not reopened.
func Resume(dir string) (*Run, error) {
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if r.manifest.Status == RunComplete {
		return nil, fmt.Errorf("results: %s is complete; nothing to resume", dir)
	}
	pods, err := r.Pods()
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		r.written[p.RepID().key()] = true
	}
	r.readOnly, r.summary = false, nil
	r.manifest.Status, r.manifest.End, r.manifest.Error = RunRunning, nil, ""
	if err := r.writeManifest(); err != nil {
		return nil, err
	}
	return r, nil
}
