package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// LogRecord is one line of the Kubedirect artifact's trace driver log
// (pkg/workload Response.Summary), as plot.py reads it:
//
//	ID: default/trace-<fn>-<sender>/<n>, Func: …, Status: …, TS: <s>s, …, Delay: +<ms>ms, Runtime: <actual>/<requested>ms
type LogRecord struct {
	// Function is <fn>, the trace row the Deployment trace-<fn> replays.
	Function int
	// TS is the invocation's offset in the trace, in seconds.
	TS float64
	// DelayMs is from the client's send to the function's start.
	DelayMs float64
	// ActualMs is the measured runtime; RequestedMs the trace's.
	ActualMs    float64
	RequestedMs int64
	// Line is the 1-based line in its file.
	Line int
}

// logLine is plot.py's pattern; like re.match it must match from the start
// of the stripped line. Lines that do not match are skipped, as plot.py
// skips them (a failed invocation's Delay is "N/A").
var logLine = regexp.MustCompile(`^ID: default/trace-(\d+)-(\d+)/(\d+),.*TS: ([\d.]+)s,.*Delay: \+([\d.]+)ms,.*Runtime: ([\d.]+)/(\d+)ms`)

// LogFile is a parsed trace log.
type LogFile struct {
	Path    string
	Records []LogRecord
	// Skipped counts non-empty lines that do not match the pattern.
	Skipped int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReadLog parses a trace log. A line that matches the pattern but whose
// numbers do not parse (plot.py would raise) is an error naming path and
// line.
func ReadLog(path string) (*LogFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLog(f, path)
}

func readLog(r io.Reader, path string) (*LogFile, error) {
	out := &LogFile{Path: path}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	line := 0
	bom := false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 && bytes.HasPrefix(b, utf8BOM) {
			bom = true // Python's open() keeps it, so the line does not match
		}
		s := strings.TrimFunc(string(b), unicode.IsSpace)
		m := logLine.FindStringSubmatch(s)
		if m == nil {
			if s != "" {
				out.Skipped++
			}
			continue
		}
		rec, err := parseLogMatch(m)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rec.Line = line
		out.Records = append(out.Records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	if len(out.Records) == 0 {
		msg := "no line matches the artifact's trace log format (ID: default/trace-<fn>-<n>/<n>, … TS: <s>s, … Delay: +<ms>ms, … Runtime: <ms>/<ms>ms)"
		if bom {
			msg += "; the file starts with a UTF-8 byte-order mark (EF BB BF), which hides its first line: save it without one"
		}
		return nil, fmt.Errorf("%s: %s", path, msg)
	}
	return out, nil
}

func parseLogMatch(m []string) (LogRecord, error) {
	var r LogRecord
	var err error
	fn, err := strconv.Atoi(m[1])
	if err != nil {
		return r, fmt.Errorf("function %q: %w", m[1], err)
	}
	r.Function = fn
	for _, f := range []struct {
		name string
		s    string
		dst  *float64
	}{{"TS", m[4], &r.TS}, {"Delay", m[5], &r.DelayMs}, {"Runtime", m[6], &r.ActualMs}} {
		if *f.dst, err = strconv.ParseFloat(f.s, 64); err != nil {
			return r, fmt.Errorf("%s %q is not a number", f.name, f.s)
		}
	}
	if r.RequestedMs, err = strconv.ParseInt(m[7], 10, 64); err != nil {
		return r, fmt.Errorf("requested runtime %q: %w", m[7], err)
	}
	return r, nil
}
