package trace

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// Write stores the trace in dir (created if needed) as the loader's three
// files. Each file is written to a temporary name and renamed into place, so
// readers never see a half-written file. Numbers are formatted as the Azure
// dataset and the loader's sampler print them ("100.0" for whole values).
func (t *Trace) Write(dir string) error {
	if len(t.Functions) == 0 {
		return fmt.Errorf("trace: nothing to write: %w", ErrEmpty)
	}
	cols := len(t.Functions[0].Invocations)
	if cols == 0 || cols > maxColumns {
		return fmt.Errorf("trace: function 0 has %d minute columns, want 1..%d", cols, maxColumns)
	}
	for i := range t.Functions {
		if n := len(t.Functions[i].Invocations); n != cols {
			return fmt.Errorf("trace: function %d (%s) has %d minute columns, function 0 has %d",
				i, t.Functions[i].HashFunction, n, cols)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, InvocationsFile), t.writeInvocations); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, DurationsFile), t.writeDurations); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, MemoryFile), t.writeMemory)
}

// writeAtomic writes path through a temporary file in the same directory.
func writeAtomic(path string, write func(*csv.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	w := csv.NewWriter(bw)
	if err = write(w); err != nil {
		return err
	}
	w.Flush()
	if err = w.Error(); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (t *Trace) writeInvocations(w *csv.Writer) error {
	cols := len(t.Functions[0].Invocations)
	head := []string{"HashOwner", "HashApp", "HashFunction"}
	if t.HasTrigger {
		head = append(head, "Trigger")
	}
	fixed := len(head)
	for m := 1; m <= cols; m++ {
		head = append(head, strconv.Itoa(m))
	}
	if err := w.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(head))
	for i := range t.Functions {
		f := &t.Functions[i]
		rec[0], rec[1], rec[2] = f.HashOwner, f.HashApp, f.HashFunction
		if t.HasTrigger {
			rec[3] = f.Trigger
		}
		for m, n := range f.Invocations {
			rec[fixed+m] = strconv.Itoa(int(n))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trace) writeDurations(w *csv.Writer) error {
	head := append(append(append([]string{}, hashColumns...), durationStatColumns...), DurationPercentileColumns...)
	if err := w.Write(head); err != nil {
		return err
	}
	for i := range t.Functions {
		f := &t.Functions[i]
		d := &f.Duration
		rec := []string{d.HashOwner, d.HashApp, f.HashFunction,
			formatFloat(d.Average), formatFloat(d.Count), formatFloat(d.Minimum), formatFloat(d.Maximum)}
		for _, p := range d.Percentiles {
			rec = append(rec, formatFloat(p))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trace) writeMemory(w *csv.Writer) error {
	head := append(append(append([]string{}, hashColumns...), memoryStatColumns...), MemoryPercentileColumns...)
	if err := w.Write(head); err != nil {
		return err
	}
	for i := range t.Functions {
		f := &t.Functions[i]
		m := &f.Memory
		rec := []string{m.HashOwner, m.HashApp, f.HashFunction, formatFloat(m.SampleCount), formatFloat(m.Average)}
		for _, p := range m.Percentiles {
			rec = append(rec, formatFloat(p))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// formatFloat prints whole numbers with one decimal, as pandas does, and
// anything else with the fewest digits that read back to the same float.
func formatFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
