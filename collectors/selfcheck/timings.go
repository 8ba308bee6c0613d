package selfcheck

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
)

// PodTiming is the node agent's record of one pod, from its /timings CSV.
type PodTiming struct {
	Namespace, Name, Node string
	// BoundNs is when the agent saw the pod bound, ReadyNs when the API
	// server accepted its Ready status (Unix ns, the machine's clock).
	BoundNs, ReadyNs int64
}

var timingHeader = []string{"namespace", "name", "uid", "node", "bound_unix_ns", "ready_unix_ns"}

// FetchNodeAgentTimings reads the pods the agent marked Ready since t.
func FetchNodeAgentTimings(ctx context.Context, baseURL string, since time.Time) ([]PodTiming, error) {
	u := fmt.Sprintf("%s/timings?since=%d", baseURL, since.UnixNano())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node agent timings: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("node agent timings: GET %s: %s: %s", u, resp.Status, b)
	}
	return ParseTimings(resp.Body, u)
}

// ParseTimings reads the agent's CSV; where names the source in errors.
func ParseTimings(r io.Reader, where string) ([]PodTiming, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", where, err)
	}
	if len(head) != len(timingHeader) {
		return nil, fmt.Errorf("%s: header %v, want %v", where, head, timingHeader)
	}
	for i := range head {
		if head[i] != timingHeader[i] {
			return nil, fmt.Errorf("%s: header column %d is %q, want %q", where, i+1, head[i], timingHeader[i])
		}
	}
	var out []PodTiming
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", where, line, err)
		}
		b, err1 := strconv.ParseInt(row[4], 10, 64)
		rd, err2 := strconv.ParseInt(row[5], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", where, line, err)
		}
		out = append(out, PodTiming{Namespace: row[0], Name: row[1], Node: row[3], BoundNs: b, ReadyNs: rd})
	}
}

// Thresholds of the lag checks: beyond them the harness or the simulator,
// not the control plane, may be what a run measured.
const (
	WatchLagThreshold     = 100 * time.Millisecond
	NodeAgentLagThreshold = 50 * time.Millisecond
)

// WatchLag compares when the harness saw each pod Ready with when the node
// agent's Ready write was accepted: the p99 of the difference.
func WatchLag(id results.RepID, recs []results.PodRecord, timings []PodTiming) []results.SelfCheck {
	byName := make(map[string]PodTiming, len(timings))
	for _, t := range timings {
		byName[t.Namespace+"/"+t.Name] = t
	}
	var lags []float64
	for _, r := range recs {
		t, ok := byName[r.Namespace+"/"+r.Pod]
		if !ok || r.Ready == 0 {
			continue
		}
		lags = append(lags, time.Duration(r.Ready-t.ReadyNs).Seconds())
	}
	if len(lags) == 0 {
		return nil
	}
	s, err := stats.Percentiles(lags)
	if err != nil {
		return nil
	}
	return []results.SelfCheck{results.NewSelfCheck(id, results.CheckWatchLag, "seconds", s.P99, WatchLagThreshold.Seconds(),
		fmt.Sprintf("harness Ready seen − node agent Ready written over %d pods: p50 %.1f ms, max %.1f ms", s.N, s.P50*1e3, s.Max*1e3))}
}

// NodeAgentLag is the agent's own delay beyond the configured sandbox delay.
func NodeAgentLag(id results.RepID, timings []PodTiming, delay time.Duration) []results.SelfCheck {
	var lags []float64
	for _, t := range timings {
		lags = append(lags, (time.Duration(t.ReadyNs-t.BoundNs) - delay).Seconds())
	}
	if len(lags) == 0 {
		return nil
	}
	s, err := stats.Percentiles(lags)
	if err != nil {
		return nil
	}
	return []results.SelfCheck{results.NewSelfCheck(id, results.CheckNodeAgentLag, "seconds", s.P99, NodeAgentLagThreshold.Seconds(),
		fmt.Sprintf("node agent bound seen → Ready written, minus the %s sandbox delay, over %d pods: p50 %.1f ms, max %.1f ms", delay, s.N, s.P50*1e3, s.Max*1e3))}
}
