package results

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// PodRecord is everything observed about one pod in one repetition.
// Timestamps are Unix nanoseconds from the harness's clock (client-side
// informer receive times); 0 means not observed.
type PodRecord struct {
	// System, QPSProfile, Experiment, Size, Rep and Warmup say which
	// repetition the pod belongs to; AppendPods fills them from its RepID.
	System     string
	QPSProfile string
	Experiment string
	Size       int
	Rep        int
	Warmup     bool

	Namespace string
	// Function is the owning Deployment.
	Function string
	Pod      string
	Node     string

	// BurstStart is when the harness sent the scale request(s).
	BurstStart int64
	// RSScaled is when the pod's ReplicaSet was seen with its new replica count.
	RSScaled int64
	// Created is when the pod was first seen.
	Created int64
	// Scheduled is when its PodScheduled condition was seen true.
	Scheduled int64
	// Bound is when spec.nodeName was seen set.
	Bound int64
	// Running is when status.phase Running was seen.
	Running int64
	// Ready is when its Ready condition was seen true: the paper's e2e end.
	Ready int64
	// Deleted is when the pod was seen deleted (scale-down), if it was.
	Deleted int64
}

// RepID returns the repetition the record belongs to.
func (p PodRecord) RepID() RepID {
	return RepID{System: p.System, QPSProfile: p.QPSProfile, Size: p.Size, Rep: p.Rep, Warmup: p.Warmup}
}

// podColumns is pods.csv's header; the reader insists on it exactly, so a
// file from another layout fails loudly instead of shifting columns.
var podColumns = []string{
	"system", "qps_profile", "experiment", "size", "rep", "warmup",
	"namespace", "function", "pod", "node",
	"burst_start_ns", "rs_scaled_ns", "created_ns", "scheduled_ns",
	"bound_ns", "running_ns", "ready_ns", "deleted_ns",
}

const firstTimestampColumn = 10

func (p *PodRecord) timestamps() []*int64 {
	return []*int64{&p.BurstStart, &p.RSScaled, &p.Created, &p.Scheduled, &p.Bound, &p.Running, &p.Ready, &p.Deleted}
}

func ts(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

func (p PodRecord) csvRow() []string {
	row := []string{
		p.System, p.QPSProfile, p.Experiment, strconv.Itoa(p.Size), strconv.Itoa(p.Rep), strconv.FormatBool(p.Warmup),
		p.Namespace, p.Function, p.Pod, p.Node,
	}
	for _, t := range p.timestamps() {
		row = append(row, ts(*t))
	}
	return row
}

// writePodRows writes records as CSV rows (no header).
func writePodRows(w io.Writer, header bool, pods []PodRecord) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(podColumns); err != nil {
			return err
		}
	}
	for _, p := range pods {
		if err := cw.Write(p.csvRow()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// readPods parses a pods.csv; name is used in errors, which give the line
// and column of the first bad value.
func readPods(name string, r io.Reader) ([]PodRecord, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a better message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results: %s: header: %w", name, err)
	}
	for i, col := range podColumns {
		if i >= len(header) || header[i] != col {
			got := "missing"
			if i < len(header) {
				got = strconv.Quote(header[i])
			}
			return nil, fmt.Errorf("results: %s: column %d is %s, want %q (a pods.csv of another schema version?)", name, i+1, got, col)
		}
	}
	if len(header) != len(podColumns) {
		return nil, fmt.Errorf("results: %s: %d columns, want %d (a pods.csv of another schema version?)", name, len(header), len(podColumns))
	}
	cr.FieldsPerRecord = len(podColumns)
	var pods []PodRecord
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return pods, nil
		}
		if err != nil {
			return nil, fmt.Errorf("results: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		bad := func(col int, err error) error {
			return fmt.Errorf("results: %s:%d: column %s: %w", name, line, podColumns[col], err)
		}
		p := PodRecord{
			System: row[0], QPSProfile: row[1], Experiment: row[2],
			Namespace: row[6], Function: row[7], Pod: row[8], Node: row[9],
		}
		if p.Size, err = strconv.Atoi(row[3]); err != nil {
			return nil, bad(3, err)
		}
		if p.Rep, err = strconv.Atoi(row[4]); err != nil {
			return nil, bad(4, err)
		}
		if p.Warmup, err = strconv.ParseBool(row[5]); err != nil {
			return nil, bad(5, err)
		}
		for i, t := range p.timestamps() {
			col := firstTimestampColumn + i
			if row[col] == "" {
				continue
			}
			if *t, err = strconv.ParseInt(row[col], 10, 64); err != nil {
				return nil, bad(col, err)
			}
			if *t < 0 {
				return nil, bad(col, fmt.Errorf("negative timestamp %d", *t))
			}
		}
		pods = append(pods, p)
	}
}
