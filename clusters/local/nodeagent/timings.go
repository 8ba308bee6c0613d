package nodeagent

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultTimingLogSize bounds a TimingLog: about 30 MB at 150 bytes a pod, more pods
// than any experiment starts between two fetches.
const DefaultTimingLogSize = 200_000

// TimingLog keeps the bound and ready times of the pods the agent started, so that the
// harness, which runs in another process, can fetch them (ServeHTTP) for per-pod
// breakdowns. It is an Observer; pass it with WithObserver. It keeps the newest size
// records and counts the ones it dropped.
type TimingLog struct {
	mu      sync.Mutex
	recs    []PodTiming // ring buffer
	next    int         // index of the oldest record once full
	full    bool
	dropped uint64
}

// NewTimingLog returns a log holding at most size records (DefaultTimingLogSize if
// size <= 0).
func NewTimingLog(size int) *TimingLog {
	if size <= 0 {
		size = DefaultTimingLogSize
	}
	return &TimingLog{recs: make([]PodTiming, 0, size)}
}

// PodReady implements Observer.
func (l *TimingLog) PodReady(t PodTiming) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		l.recs = append(l.recs, t)
		l.full = len(l.recs) == cap(l.recs)
		return
	}
	l.recs[l.next] = t
	l.next = (l.next + 1) % len(l.recs)
	l.dropped++
}

// snapshot returns the records oldest first, those Ready at or after since, and the
// number dropped so far.
func (l *TimingLog) snapshot(since time.Time) ([]PodTiming, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]PodTiming, 0, len(l.recs))
	for i := range l.recs {
		t := l.recs[(l.next+i)%len(l.recs)]
		if !t.Ready.Before(since) {
			out = append(out, t)
		}
	}
	return out, l.dropped
}

// timingHeader is the CSV header; times are Unix nanoseconds, comparable with the
// harness's client-side timestamps on the same machine.
// The columns after ready_unix_ns split the node side (0: not known, such as
// the create of a pod the agent did not create).
var timingHeader = []string{"namespace", "name", "uid", "node", "bound_unix_ns", "ready_unix_ns",
	"sandbox_done_unix_ns", "create_sent_unix_ns", "created_unix_ns", "creates_in_flight", "create_throttled_ns",
	"write_sent_unix_ns", "writes_in_flight", "write_throttled_ns"}

// WriteCSV writes the records Ready at or after since (all if since is zero), oldest
// first, with a header line.
func (l *TimingLog) WriteCSV(w io.Writer, since time.Time) error {
	recs, _ := l.snapshot(since)
	return writeTimings(w, recs)
}

func writeTimings(w io.Writer, recs []PodTiming) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(timingHeader); err != nil {
		return err
	}
	for _, t := range recs {
		i := strconv.Itoa
		if err := cw.Write([]string{t.Namespace, t.Name, string(t.UID), t.Node, unixNs(t.Bound), unixNs(t.Ready),
			unixNs(t.SandboxDone), unixNs(t.CreateSent), unixNs(t.Created), i(t.CreatesInFlight), i(int(t.CreateThrottled)),
			unixNs(t.WriteSent), i(t.WritesInFlight), i(int(t.WriteThrottled))}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ServeHTTP serves the log as CSV (text/csv). The optional query parameter
// since=<unix ns> limits it to pods Ready from then on; the header
// X-Kdbench-Timings-Dropped says how many records the size bound pushed out.
func (l *TimingLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		ns, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, fmt.Sprintf("since=%q: want Unix nanoseconds", s), http.StatusBadRequest)
			return
		}
		since = time.Unix(0, ns)
	}
	recs, dropped := l.snapshot(since)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("X-Kdbench-Timings-Dropped", strconv.FormatUint(dropped, 10))
	_ = writeTimings(w, recs)
}

// unixNs is t in Unix nanoseconds, "0" for the zero time.
func unixNs(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}
