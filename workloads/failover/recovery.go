package failover

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
)

// RecoveryFile is the failover experiment's per-case results, in the run
// directory beside manifest.json and summary.json.
const RecoveryFile = "recovery.csv"

// Status is a case's outcome.
type Status string

const (
	StatusOK       Status = "ok"       // converged, no invariant broken
	StatusViolated Status = "violated" // an invariant broke (or it never converged)
	StatusFailed   Status = "failed"   // the harness could not run the case
	StatusSkipped  Status = "skipped"  // the system has no such target or kind
)

// Row is one finished case.
type Row struct {
	Case
	Status Status
	// Injected, Recovered and Converged are wall-clock nanoseconds since
	// the epoch on the collectors' clock: just before the fault, when its
	// cause ended (the crashed process ran again, the cut link or stalled
	// process was let go) and when the desired Ready count was reached (0:
	// never).
	Injected, Recovered, Converged int64
	// Resynced is, for a crash, when the restarted process was ready again:
	// a Kubedirect hop once its informers synced and its downstream links
	// finished the handshake and state transfer (its /readyz), a cluster
	// component once healthy (0: not a crash, or not recorded).
	Resynced   int64
	Violations []Violation
	// Detail says why a case was skipped or failed; for a case that passed,
	// what is worth knowing anyway (the node agent's housekeeping had to
	// forget orphan pods).
	Detail string
	// Pods are the case's pods as the harness saw them (node, milestones),
	// written to <case>_pods.csv beside recovery.csv; not a column of it.
	Pods []results.PodRecord
}

// Recovery is Converged − Injected, or 0 if it never converged.
func (r Row) Recovery() time.Duration {
	if r.Converged == 0 || r.Injected == 0 {
		return 0
	}
	return time.Duration(r.Converged - r.Injected)
}

// Resync is Resynced − Injected: from the crash (the kill and restart
// follow at once) to the restarted process ready again, or 0.
func (r Row) Resync() time.Duration {
	if r.Resynced == 0 || r.Injected == 0 {
		return 0
	}
	return time.Duration(r.Resynced - r.Injected)
}

// header is recovery.csv's; headerV1 the one before resync was recorded
// (still read, and appended to in its own format on --resume).
var (
	headerV1 = []string{"system", "size", "phase", "target", "kind", "rep", "status",
		"inject_ns", "recovered_ns", "converged_ns", "recovery_ms", "violations", "detail"}
	header = append(slices.Clone(headerV1), "resynced_ns", "resync_ms")
)

func (r Row) record() []string {
	return []string{r.System, strconv.Itoa(r.Size), string(r.Phase), string(r.Target), string(r.Kind),
		strconv.Itoa(r.Rep), string(r.Status), strconv.FormatInt(r.Injected, 10), strconv.FormatInt(r.Recovered, 10), strconv.FormatInt(r.Converged, 10),
		strconv.FormatFloat(float64(r.Recovery())/1e6, 'f', 3, 64), FormatViolations(r.Violations), r.Detail,
		strconv.FormatInt(r.Resynced, 10), strconv.FormatFloat(float64(r.Resync())/1e6, 'f', 3, 64)}
}

// ReadRows parses recovery.csv.
func ReadRows(rd io.Reader) ([]Row, error) {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = 0 // every line as wide as the header
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RecoveryFile, err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	if !slices.Equal(recs[0], header) && !slices.Equal(recs[0], headerV1) {
		return nil, fmt.Errorf("%s: header %q, want %q", RecoveryFile, strings.Join(recs[0], ","), strings.Join(header, ","))
	}
	var out []Row
	for i, rec := range recs[1:] {
		r, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", RecoveryFile, i+2, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseRow(rec []string) (Row, error) {
	var r Row
	var err error
	ints := []struct {
		s string
		p *int
	}{{rec[1], &r.Size}, {rec[5], &r.Rep}}
	for _, v := range ints {
		if *v.p, err = strconv.Atoi(v.s); err != nil {
			return r, err
		}
	}
	if r.Injected, err = strconv.ParseInt(rec[7], 10, 64); err != nil {
		return r, err
	}
	if r.Recovered, err = strconv.ParseInt(rec[8], 10, 64); err != nil {
		return r, err
	}
	if r.Converged, err = strconv.ParseInt(rec[9], 10, 64); err != nil {
		return r, err
	}
	if len(rec) > len(headerV1) {
		if r.Resynced, err = strconv.ParseInt(rec[13], 10, 64); err != nil {
			return r, err
		}
	}
	r.System, r.Phase, r.Target, r.Kind, r.Status, r.Detail = rec[0], Phase(rec[2]), Target(rec[3]), Kind(rec[4]), Status(rec[6]), rec[12]
	if rec[11] != "" {
		for _, v := range strings.Split(rec[11], "; ") {
			k, d, _ := strings.Cut(v, ": ")
			r.Violations = append(r.Violations, Violation{Kind: k, Detail: d})
		}
	}
	return r, nil
}

// Log is recovery.csv opened for appending: each Append is written and
// fsync'd before it returns, so a kill -9 loses at most the case under way.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	rows []Row
	// width is the file's columns: an older file is appended to in its
	// own format.
	width int
}

// OpenLog opens (or creates) path and reads the rows already in it. A torn
// last line from a crash mid-write is cut off.
func OpenLog(path string) (*Log, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if i := strings.LastIndexByte(string(data), '\n'); i+1 != len(data) {
		data = data[:i+1] // drop a partial last line
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
	}
	rows, err := ReadRows(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	l := &Log{f: f, rows: rows, width: len(header)}
	if strings.HasPrefix(string(data), strings.Join(headerV1, ",")+"\n") {
		l.width = len(headerV1)
	}
	if len(data) == 0 {
		if err := l.write(header); err != nil {
			f.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *Log) write(rec []string) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.Write(rec); err != nil {
		return err
	}
	w.Flush()
	if _, err := l.f.WriteString(b.String()); err != nil {
		return fmt.Errorf("writing %s: %w", l.f.Name(), err)
	}
	return l.f.Sync()
}

// Append writes one finished case durably.
func (l *Log) Append(r Row) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.write(r.record()[:l.width]); err != nil {
		return err
	}
	l.rows = append(l.rows, r)
	return nil
}

// Done reports whether c already has a row.
func (l *Log) Done(c Case) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.rows, func(r Row) bool { return r.Case == c })
}

// Rows returns every row, earlier runs' included.
func (l *Log) Rows() []Row {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.rows)
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// LoadRows reads the recovery.csv of a failover run directory.
func LoadRows(dir string) ([]Row, error) {
	f, err := os.Open(filepath.Join(dir, RecoveryFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := ReadRows(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return rows, nil
}
