package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdbench/kdbench/workloads/trace"
)

// Format is how a system's per-invocation results were recorded.
type Format string

const (
	// CSV is the loader's result CSV (kdbench's replay writes it too).
	CSV Format = "csv"
	// Log is the artifact's trace driver log.
	Log Format = "log"
)

// Source is one system's per-invocation trace results, from one or more
// files of one format.
type Source struct {
	System string
	Format Format
	Files  []string
	CSV    []trace.Record
	Log    []LogRecord
	// Warmup, when set, is the warm-up the replay that wrote the CSVs
	// recorded in its summary; it overrides the caller's default.
	Warmup *int
}

// replaySummary is what Add reads of a kdbench replay's
// <system>_summary.json beside its CSV (workloads/replay.Summary).
type replaySummary struct {
	ResultCSV     string `json:"resultCSV"`
	WarmupMinutes *int   `json:"warmupMinutes"`
}

// recordedWarmup returns the warm-up a replay summary beside path records
// for it, or nil.
func recordedWarmup(path string) *int {
	sums, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*_summary.json"))
	for _, sp := range sums {
		b, err := os.ReadFile(sp)
		if err != nil {
			continue
		}
		var rs replaySummary
		if json.Unmarshal(b, &rs) == nil && rs.ResultCSV == filepath.Base(path) && rs.WarmupMinutes != nil {
			return rs.WarmupMinutes
		}
	}
	return nil
}

// WarmupOr is the source's recorded warm-up, or def.
func (s *Source) WarmupOr(def int) int {
	if s.Warmup != nil {
		return *s.Warmup
	}
	return def
}

// Add appends a file's records; a file of the other format is an error.
func (s *Source) Add(path string) error {
	f, err := SniffFormat(path)
	if err != nil {
		return err
	}
	if s.Format != "" && s.Format != f {
		return fmt.Errorf("%s: a %s file, but %s's other results (%s) are %s", path, f, s.System, strings.Join(s.Files, ", "), s.Format)
	}
	switch f {
	case CSV:
		recs, err := trace.ReadResultsFile(path)
		if err != nil {
			return err
		}
		if w := recordedWarmup(path); w != nil {
			if s.Warmup != nil && *s.Warmup != *w {
				return fmt.Errorf("%s: its replay recorded %d warm-up minutes, %s's other results (%s) %d", path, *w, s.System, strings.Join(s.Files, ", "), *s.Warmup)
			}
			s.Warmup = w
		}
		s.CSV = append(s.CSV, recs...)
	case Log:
		lf, err := ReadLog(path)
		if err != nil {
			return err
		}
		s.Log = append(s.Log, lf.Records...)
	}
	s.Format = f
	s.Files = append(s.Files, path)
	return nil
}

// SniffFormat tells a loader result CSV (header "phase,instance,…") from a
// trace log (a line starting "ID: default/trace-") by the first line.
func SniffFormat(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return "", fmt.Errorf("%s: empty file", path)
	}
	bom := bytes.HasPrefix(line, utf8BOM)
	s := strings.TrimSpace(string(bytes.TrimPrefix(line, utf8BOM)))
	switch {
	case strings.HasPrefix(s, "phase,instance,invocationID") || strings.Contains(s, "invocationID") && strings.Contains(s, "responseTime"):
		return CSV, nil
	case strings.HasPrefix(s, "ID: "):
		return Log, nil
	case filepath.Ext(path) == ".log":
		return Log, nil
	}
	msg := fmt.Sprintf("%s: neither a loader result CSV (header phase,instance,invocationID,…) nor an artifact trace log (lines \"ID: default/trace-…\")", path)
	if bom {
		msg += "; it starts with a UTF-8 byte-order mark"
	}
	return "", fmt.Errorf("%s", msg)
}
