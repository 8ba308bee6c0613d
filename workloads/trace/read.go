package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Load reads a loader trace directory. Rows of durations.csv and memory.csv
// join the rows of invocations.csv on HashFunction alone, as in the loader.
// Unlike the loader, which crashes or silently misbehaves, Load rejects
// malformed input with a *ParseError naming file, line and column: a wrong
// header, ragged rows, non-numeric cells, negative counts, a missing join row,
// Count or SampleCount <= 0, duplicate HashFunction rows in durations.csv or
// memory.csv (the loader would keep the last), and percentiles whose integer
// parts decrease (the loader aborts when it draws from such an interval).
func Load(dir string) (*Trace, error) {
	tr, err := readFile(filepath.Join(dir, InvocationsFile), readInvocations)
	if err != nil {
		return nil, err
	}
	durs, err := readFile(filepath.Join(dir, DurationsFile), readDurations)
	if err != nil {
		return nil, err
	}
	mems, err := readFile(filepath.Join(dir, MemoryFile), readMemory)
	if err != nil {
		return nil, err
	}
	if err := tr.join(durs, mems); err != nil {
		return nil, err
	}
	return tr.Trace, nil
}

func readFile[T any](path string, parse func(*csvFile) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	return parse(newCSVFile(path, f))
}

// csvFile wraps csv.Reader with positions for errors. name is the file's
// path as given, so that errors say which of several same-named files.
type csvFile struct {
	name   string
	r      *csv.Reader
	header []string
	// stripBOM drops a UTF-8 byte-order mark before the header, as pandas
	// does for result CSVs; otherwise it is named as the error (the
	// loader's Go reader would take it for part of the first column name).
	stripBOM bool
}

func newCSVFile(name string, r io.Reader) *csvFile {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, to report our own errors
	cr.ReuseRecord = true
	return &csvFile{name: name, r: cr}
}

func (c *csvFile) errAt(line, col int, err error) *ParseError {
	e := &ParseError{File: c.name, Line: line, Column: col, Err: err}
	if col > 0 && col <= len(c.header) {
		e.Name = c.header[col-1]
	}
	return e
}

func (c *csvFile) readHeader() error {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return c.errAt(0, 0, fmt.Errorf("%w: file is empty", ErrHeader))
	}
	if err != nil {
		return c.csvErr(err)
	}
	c.header = append([]string(nil), rec...)
	if len(c.header) > 0 && strings.HasPrefix(c.header[0], "\ufeff") {
		if !c.stripBOM {
			return c.errAt(1, 1, fmt.Errorf("%w: the file starts with a UTF-8 byte-order mark (EF BB BF), which the loader reads as part of the first column name; save it without one", ErrHeader))
		}
		c.header[0] = strings.TrimPrefix(c.header[0], "\ufeff")
	}
	return nil
}

// next returns the next row and its line, or io.EOF.
func (c *csvFile) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		return nil, 0, c.csvErr(err)
	}
	line, _ := c.r.FieldPos(0)
	if len(rec) != len(c.header) {
		return nil, line, c.errAt(line, 0, fmt.Errorf("%w: %d, header has %d", ErrRagged, len(rec), len(c.header)))
	}
	return rec, line, nil
}

func (c *csvFile) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// csv reports a byte offset, not a field; keep Column for fields.
		return &ParseError{File: c.name, Line: pe.Line, Err: fmt.Errorf("%w at byte %d", pe.Err, pe.Column)}
	}
	return &ParseError{File: c.name, Err: err}
}

// columns maps required header names to their indexes.
func (c *csvFile) columns(required, optional []string) (map[string]int, error) {
	idx := make(map[string]int, len(c.header))
	for i, h := range c.header {
		if _, dup := idx[h]; dup {
			return nil, c.errAt(1, i+1, fmt.Errorf("%w: column %q repeated", ErrHeader, h))
		}
		idx[h] = i
	}
	for _, name := range required {
		if _, ok := idx[name]; !ok {
			return nil, c.errAt(1, 0, fmt.Errorf("%w: no column %q", ErrHeader, name))
		}
	}
	out := make(map[string]int, len(required)+len(optional))
	for _, name := range append(required, optional...) {
		if i, ok := idx[name]; ok {
			out[name] = i
		}
	}
	return out, nil
}

func (c *csvFile) float(rec []string, line, col int) (float64, error) {
	s := strings.TrimSpace(rec[col])
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, c.errAt(line, col+1, fmt.Errorf("%w: %q", ErrNotNumber, rec[col]))
	}
	return v, nil
}

// invocations is invocations.csv before the join, with positions kept for errors.
type invocations struct {
	*Trace
	lines   []int
	hashCol int
	file    *csvFile
}

func readInvocations(c *csvFile) (*invocations, error) {
	if err := c.readHeader(); err != nil {
		return nil, err
	}
	// As in the loader: the first four header cells name the hashes and the
	// optional Trigger (case-insensitive); minute columns are read by position.
	owner, app, fn, trigger := -1, -1, -1, -1
	for i := 0; i < min(4, len(c.header)); i++ {
		switch strings.ToLower(strings.TrimSpace(c.header[i])) {
		case "hashowner":
			owner = i
		case "hashapp":
			app = i
		case "hashfunction":
			fn = i
		case "trigger":
			trigger = i
		}
	}
	if owner < 0 || app < 0 || fn < 0 {
		return nil, c.errAt(1, 0, fmt.Errorf("%w: the first columns must be HashOwner, HashApp, HashFunction", ErrHeader))
	}
	first := 3
	if trigger >= 0 {
		first = trigger + 1
	}
	if first <= max(owner, app, fn) {
		return nil, c.errAt(1, first+1, fmt.Errorf("%w: minute columns overlap the hash columns", ErrHeader))
	}
	if len(c.header) <= first {
		return nil, c.errAt(1, 0, fmt.Errorf("%w: no minute columns", ErrHeader))
	}
	if len(c.header)-first > maxColumns {
		return nil, c.errAt(1, first+maxColumns+1, fmt.Errorf("%w: more than %d minute columns", ErrHeader, maxColumns))
	}
	inv := &invocations{Trace: &Trace{HasTrigger: trigger >= 0}, hashCol: fn, file: c}
	for {
		rec, line, err := c.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		f := Function{
			HashOwner:    rec[owner],
			HashApp:      rec[app],
			HashFunction: rec[fn],
			Invocations:  make([]int32, len(rec)-first),
		}
		if trigger >= 0 {
			f.Trigger = rec[trigger]
		}
		for i := first; i < len(rec); i++ {
			n, err := strconv.ParseInt(strings.TrimSpace(rec[i]), 10, 32)
			if err != nil {
				return nil, c.errAt(line, i+1, fmt.Errorf("%w: %q is not an integer count", ErrNotNumber, rec[i]))
			}
			if n < 0 {
				return nil, c.errAt(line, i+1, fmt.Errorf("%w: %d", ErrNegative, n))
			}
			f.Invocations[i-first] = int32(n)
		}
		inv.Functions = append(inv.Functions, f)
		inv.lines = append(inv.lines, line)
	}
	if len(inv.Functions) == 0 {
		return nil, c.errAt(0, 0, ErrEmpty)
	}
	return inv, nil
}

// statsFile is durations.csv or memory.csv keyed by HashFunction.
type statsFile[T any] struct {
	file  *csvFile
	rows  map[string]statsRow[T]
	cols  map[string]int
	count string // name of the column that must be > 0
	pcts  []string
}

type statsRow[T any] struct {
	line int
	v    T
}

// statsKey says how rows of a stats file are keyed: loader traces key on
// HashFunction and reject duplicates; the raw Azure files are deduplicated
// keeping the first row, as the loader's sampler does (memory is per app).
type statsKey struct {
	column    string
	keepFirst bool
}

var loaderKey = statsKey{column: "HashFunction"}

func readStats[T any](c *csvFile, k statsKey, countCol string, stats, pcts []string, set func(*T, []float64, string, string)) (*statsFile[T], error) {
	if err := c.readHeader(); err != nil {
		return nil, err
	}
	required := append(append([]string{k.column}, stats...), pcts...)
	cols, err := c.columns(required, []string{"HashOwner", "HashApp"})
	if err != nil {
		return nil, err
	}
	sf := &statsFile[T]{file: c, rows: map[string]statsRow[T]{}, cols: cols, count: countCol, pcts: pcts}
	vals := make([]float64, len(stats)+len(pcts))
	for {
		rec, line, err := c.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, name := range required[1:] {
			if vals[i], err = c.float(rec, line, cols[name]); err != nil {
				return nil, err
			}
		}
		key := rec[cols[k.column]]
		if prev, dup := sf.rows[key]; dup {
			if k.keepFirst {
				continue
			}
			return nil, c.errAt(line, cols[k.column]+1, fmt.Errorf("%w %q, first on line %d", ErrDuplicateKey, key, prev.line))
		}
		var owner, app string
		if i, ok := cols["HashOwner"]; ok {
			owner = rec[i]
		}
		if i, ok := cols["HashApp"]; ok {
			app = rec[i]
		}
		var v T
		set(&v, vals, owner, app)
		sf.rows[key] = statsRow[T]{line: line, v: v}
	}
	return sf, nil
}

func readDurations(c *csvFile) (*statsFile[DurationStats], error) {
	return readDurationsKeyed(c, loaderKey)
}

func readDurationsKeyed(c *csvFile, k statsKey) (*statsFile[DurationStats], error) {
	return readStats(c, k, "Count", durationStatColumns, DurationPercentileColumns, func(d *DurationStats, v []float64, owner, app string) {
		d.HashOwner, d.HashApp = owner, app
		d.Average, d.Count, d.Minimum, d.Maximum = v[0], v[1], v[2], v[3]
		copy(d.Percentiles[:], v[4:])
	})
}

func readMemory(c *csvFile) (*statsFile[MemoryStats], error) {
	return readMemoryKeyed(c, loaderKey)
}

func readMemoryKeyed(c *csvFile, k statsKey) (*statsFile[MemoryStats], error) {
	return readStats(c, k, "SampleCount", memoryStatColumns, MemoryPercentileColumns, func(m *MemoryStats, v []float64, owner, app string) {
		m.HashOwner, m.HashApp = owner, app
		m.SampleCount, m.Average = v[0], v[1]
		copy(m.Percentiles[:], v[2:])
	})
}

// lookup finds the row joined to invocations row i and validates the values
// the generator depends on.
func lookup[T any](inv *invocations, i int, sf *statsFile[T], count func(T) float64, pcts func(T) []float64) (T, error) {
	key := inv.Functions[i].HashFunction
	row, ok := sf.rows[key]
	if !ok {
		var zero T
		return zero, inv.file.errAt(inv.lines[i], inv.hashCol+1,
			fmt.Errorf("%w: no row with HashFunction %q in %s", ErrMissingJoin, key, sf.file.name))
	}
	if n := count(row.v); n <= 0 {
		return row.v, sf.file.errAt(row.line, sf.cols[sf.count]+1, fmt.Errorf("%w, got %v", ErrNonPositive, n))
	}
	// The loader draws Intn(int(hi)-int(lo)) between adjacent percentiles.
	p := pcts(row.v)
	for j := 1; j < len(p); j++ {
		if int(p[j]) < int(p[j-1]) {
			return row.v, sf.file.errAt(row.line, sf.cols[sf.pcts[j]]+1,
				fmt.Errorf("%w: %v after %v", ErrPercentileOrder, p[j], p[j-1]))
		}
	}
	return row.v, nil
}

func (inv *invocations) join(durs *statsFile[DurationStats], mems *statsFile[MemoryStats]) error {
	for i := range inv.Functions {
		d, err := lookup(inv, i, durs, func(d DurationStats) float64 { return d.Count },
			func(d DurationStats) []float64 { return d.Percentiles[:] })
		if err != nil {
			return err
		}
		m, err := lookup(inv, i, mems, func(m MemoryStats) float64 { return m.SampleCount },
			func(m MemoryStats) []float64 { return m.Percentiles[:] })
		if err != nil {
			return err
		}
		inv.Functions[i].Duration, inv.Functions[i].Memory = d, m
	}
	return nil
}
