package selfcheck

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PodTiming is the node agent's record of one pod it started: when it saw
// the pod bound to one of its nodes and when the API server accepted the
// pod's Running and Ready status, in Unix ns of the machine's clock (the
// harness's too, on the local cluster).
type PodTiming struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	Node           string `json:"node"`
	BoundSeenNs    int64  `json:"boundSeenNs"`
	ReadyWrittenNs int64  `json:"readyWrittenNs"`
	// The node side split (optional, 0: unknown): when the sandbox delay
	// ran out; the agent's API create (direct mode) and the Ready status
	// write, each sent, returned (the write returned is ReadyWrittenNs),
	// how many of its kind were in flight with it, and its wait in the
	// agent's client-side rate limiter.
	SandboxDoneNs     int64 `json:"sandboxDoneNs,omitempty"`
	CreateSentNs      int64 `json:"createSentNs,omitempty"`
	CreatedNs         int64 `json:"createdNs,omitempty"`
	CreatesInFlight   int64 `json:"createsInFlight,omitempty"`
	CreateThrottledNs int64 `json:"createThrottledNs,omitempty"`
	WriteSentNs       int64 `json:"writeSentNs,omitempty"`
	WritesInFlight    int64 `json:"writesInFlight,omitempty"`
	WriteThrottledNs  int64 `json:"writeThrottledNs,omitempty"`
}

// optional are the optional columns' fields (an older agent has none).
func (t *PodTiming) optional() map[string]*int64 {
	return map[string]*int64{
		"sandbox_done_unix_ns": &t.SandboxDoneNs, "create_sent_unix_ns": &t.CreateSentNs, "created_unix_ns": &t.CreatedNs,
		"creates_in_flight": &t.CreatesInFlight, "create_throttled_ns": &t.CreateThrottledNs,
		"write_sent_unix_ns": &t.WriteSentNs, "writes_in_flight": &t.WritesInFlight, "write_throttled_ns": &t.WriteThrottledNs,
	}
}

// timingsClient bounds a fetch that ctx does not.
var timingsClient = &http.Client{Timeout: time.Minute}

// FetchNodeAgentTimings reads, from the node agent at baseURL (its
// Cluster.Endpoints["nodeagent"]), the pods it marked Ready at or after
// since: GET <baseURL>/timings?since=<unix ns>. The agent answers CSV
// (header namespace,name,uid,node,bound_unix_ns,ready_unix_ns); a JSON list
// of PodTiming (Content-Type application/json) is read too.
func FetchNodeAgentTimings(ctx context.Context, baseURL string, since time.Time) ([]PodTiming, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("node agent timings: base URL %q is not an absolute URL", baseURL)
	}
	u = u.JoinPath("timings")
	u.RawQuery = url.Values{"since": {strconv.FormatInt(since.UnixNano(), 10)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("node agent timings: %w", err)
	}
	resp, err := timingsClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node agent timings: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("node agent timings: GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		var out []PodTiming
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, fmt.Errorf("node agent timings: GET %s: decoding JSON: %w", u, err)
		}
		for i, t := range out {
			if err := t.validate(); err != nil {
				return nil, fmt.Errorf("node agent timings: GET %s: item %d: %w", u, i, err)
			}
		}
		return out, nil
	}
	return ParseTimings(resp.Body, "GET "+u.String())
}

func (t PodTiming) validate() error {
	switch {
	case t.Namespace == "" || t.Name == "":
		return fmt.Errorf("pod without namespace or name")
	case t.BoundSeenNs <= 0 || t.ReadyWrittenNs <= 0:
		return fmt.Errorf("pod %s/%s: non-positive timestamp (bound %d, ready %d)", t.Namespace, t.Name, t.BoundSeenNs, t.ReadyWrittenNs)
	}
	return nil
}

// timingColumns are the CSV columns read, by header name; others (uid) are
// ignored, so the agent may add columns.
var timingColumns = []string{"namespace", "name", "node", "bound_unix_ns", "ready_unix_ns"}

// ParseTimings reads the node agent's timings CSV; where names the source
// in errors, which give the line of the first bad record.
func ParseTimings(r io.Reader, where string) ([]PodTiming, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty, want a CSV header %v", where, timingColumns)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", where, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	idx := make([]int, len(timingColumns))
	for i, c := range timingColumns {
		j, ok := col[c]
		if !ok {
			return nil, fmt.Errorf("%s: header %v has no column %q", where, head, c)
		}
		idx[i] = j
	}
	var out []PodTiming
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		line, _ := cr.FieldPos(0)
		t := PodTiming{Namespace: row[idx[0]], Name: row[idx[1]], Node: row[idx[2]]}
		if t.BoundSeenNs, err = strconv.ParseInt(row[idx[3]], 10, 64); err != nil {
			return nil, fmt.Errorf("%s: line %d: column %s: %w", where, line, timingColumns[3], err)
		}
		if t.ReadyWrittenNs, err = strconv.ParseInt(row[idx[4]], 10, 64); err != nil {
			return nil, fmt.Errorf("%s: line %d: column %s: %w", where, line, timingColumns[4], err)
		}
		for c, f := range t.optional() {
			if j, ok := col[c]; ok {
				if *f, err = strconv.ParseInt(row[j], 10, 64); err != nil {
					return nil, fmt.Errorf("%s: line %d: column %s: %w", where, line, c, err)
				}
			}
		}
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", where, line, err)
		}
		out = append(out, t)
	}
}
