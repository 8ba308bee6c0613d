package trace

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Record is one row of the loader's per-invocation result CSV. Durations are
// in microseconds, including the three *Ms columns, which the loader fills
// with microseconds despite their names.
type Record struct {
	// Phase is 1 during warm-up, 2 in the measured phase.
	Phase int
	// Instance names the function (the loader: the function's name as the
	// server reports it); FunctionKey groups records by it.
	Instance string
	// InvocationID is "min<m>.inv<k>" (see InvocationID).
	InvocationID string
	// StartTime is the issue time in Unix microseconds.
	StartTime int64
	// RequestedDurationUs is the generated runtime in µs (runtime ms × 1000).
	RequestedDurationUs int64
	GRPCConnEstablishUs int64
	// ResponseTimeUs is the end-to-end latency seen by the client.
	ResponseTimeUs int64
	// ActualDurationUs is the execution time reported by the function.
	ActualDurationUs  int64
	ConnectionTimeout bool
	FunctionTimeout   bool
	// ActualMemoryUsageMiB is in MiB.
	ActualMemoryUsageMiB    int64
	MemoryAllocationTimeout bool
	// Columns timeToSubmitMs, userCodeExecutionMs, timeToGetResponseMs, in µs.
	TimeToSubmitUs      int64
	UserCodeExecutionUs int64
	TimeToGetResponseUs int64
}

// Failed says whether the invocation timed out (no valid measurement).
func (r *Record) Failed() bool { return r.ConnectionTimeout || r.FunctionTimeout }

// ResultColumns is the loader's column order of the result CSV.
var ResultColumns = []string{
	"phase", "instance", "invocationID", "startTime", "requestedDuration", "grpcConnEstablish",
	"responseTime", "actualDuration", "connectionTimeout", "functionTimeout", "actualMemoryUsage",
	"memoryAllocationTimeout", "timeToSubmitMs", "userCodeExecutionMs", "timeToGetResponseMs",
}

// ResultFileName is the loader's name for the result CSV of a run of
// minutes (ExperimentDuration + WarmupDuration) minutes.
func ResultFileName(prefix string, minutes int) string {
	return fmt.Sprintf("%s_duration_%d.csv", prefix, minutes)
}

func (r *Record) fields(out []string) []string {
	i := strconv.FormatInt
	b := strconv.FormatBool
	return append(out[:0], strconv.Itoa(r.Phase), r.Instance, r.InvocationID, i(r.StartTime, 10),
		i(r.RequestedDurationUs, 10), i(r.GRPCConnEstablishUs, 10), i(r.ResponseTimeUs, 10),
		i(r.ActualDurationUs, 10), b(r.ConnectionTimeout), b(r.FunctionTimeout),
		i(r.ActualMemoryUsageMiB, 10), b(r.MemoryAllocationTimeout), i(r.TimeToSubmitUs, 10),
		i(r.UserCodeExecutionUs, 10), i(r.TimeToGetResponseUs, 10))
}

// ResultWriter writes records, header first, in the order they are given
// (the loader writes them in completion order). It is not safe for
// concurrent use; funnel records through one goroutine.
type ResultWriter struct {
	w      *csv.Writer
	header bool
	buf    []string
}

// NewResultWriter writes CSV to w.
func NewResultWriter(w io.Writer) *ResultWriter { return &ResultWriter{w: csv.NewWriter(w)} }

// Write appends one record.
func (rw *ResultWriter) Write(r *Record) error {
	if !rw.header {
		rw.header = true
		if err := rw.w.Write(ResultColumns); err != nil {
			return err
		}
	}
	rw.buf = r.fields(rw.buf)
	return rw.w.Write(rw.buf)
}

// Flush writes buffered rows (and the header, if no record was written).
func (rw *ResultWriter) Flush() error {
	if !rw.header {
		rw.header = true
		if err := rw.w.Write(ResultColumns); err != nil {
			return err
		}
	}
	rw.w.Flush()
	return rw.w.Error()
}

// ResultFile is a result CSV being written under a temporary name; Close
// renames it into place, Abort discards it.
type ResultFile struct {
	*ResultWriter
	f    *os.File
	bw   *bufio.Writer
	path string
}

// CreateResultFile starts writing path.
func CreateResultFile(path string) (*ResultFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	return &ResultFile{ResultWriter: NewResultWriter(bw), f: f, bw: bw, path: path}, nil
}

// Close flushes the records and renames the file into place.
func (rf *ResultFile) Close() error {
	err := rf.Flush()
	if err == nil {
		err = rf.bw.Flush()
	}
	if err == nil {
		err = rf.f.Chmod(0o644)
	}
	if cerr := rf.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(rf.f.Name())
		return err
	}
	return os.Rename(rf.f.Name(), rf.path)
}

// Abort discards the partial file.
func (rf *ResultFile) Abort() error {
	rf.f.Close()
	return os.Remove(rf.f.Name())
}

// ReadResults parses a result CSV. Columns are matched by header name, as
// the loader's CSV library does, so their order does not matter; all of
// ResultColumns must be present. name labels errors. A leading UTF-8
// byte-order mark is skipped, as pandas skips it.
func ReadResults(r io.Reader, name string) ([]Record, error) {
	c := newCSVFile(name, r)
	c.stripBOM = true
	if err := c.readHeader(); err != nil {
		return nil, err
	}
	cols, err := c.columns(ResultColumns, nil)
	if err != nil {
		return nil, err
	}
	var out []Record
	for {
		rec, line, err := c.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := resultParser{c: c, rec: rec, line: line, cols: cols}
		r := Record{
			Phase:                   int(p.int("phase")),
			Instance:                rec[cols["instance"]],
			InvocationID:            rec[cols["invocationID"]],
			StartTime:               p.int("startTime"),
			RequestedDurationUs:     p.int("requestedDuration"),
			GRPCConnEstablishUs:     p.int("grpcConnEstablish"),
			ResponseTimeUs:          p.int("responseTime"),
			ActualDurationUs:        p.int("actualDuration"),
			ConnectionTimeout:       p.bool("connectionTimeout"),
			FunctionTimeout:         p.bool("functionTimeout"),
			ActualMemoryUsageMiB:    p.int("actualMemoryUsage"),
			MemoryAllocationTimeout: p.bool("memoryAllocationTimeout"),
			TimeToSubmitUs:          p.int("timeToSubmitMs"),
			UserCodeExecutionUs:     p.int("userCodeExecutionMs"),
			TimeToGetResponseUs:     p.int("timeToGetResponseMs"),
		}
		if p.err != nil {
			return nil, p.err
		}
		out = append(out, r)
	}
}

// ReadResultsFile reads a result CSV from disk.
func ReadResultsFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadResults(bufio.NewReaderSize(f, 1<<16), path)
}

// resultParser keeps the first conversion error of a row.
type resultParser struct {
	c    *csvFile
	rec  []string
	line int
	cols map[string]int
	err  error
}

func (p *resultParser) int(name string) int64 {
	i := p.cols[name]
	v, err := strconv.ParseInt(p.rec[i], 10, 64)
	if err != nil && p.err == nil {
		p.err = p.c.errAt(p.line, i+1, fmt.Errorf("%w: %q is not an integer", ErrNotNumber, p.rec[i]))
	}
	return v
}

func (p *resultParser) bool(name string) bool {
	i := p.cols[name]
	v, err := strconv.ParseBool(p.rec[i])
	if err != nil && p.err == nil {
		p.err = p.c.errAt(p.line, i+1, fmt.Errorf("%q is not a boolean", p.rec[i]))
	}
	return v
}
