package burst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kdbench/kdbench/collectors/hoplog"
	"github.com/kdbench/kdbench/collectors/results"
)

// FetchHops reads the per-hop message timestamps that a system's
// components serve on /hops (Kubedirect's links) since the burst started:
// component name → JSON lines. Components without /hops are skipped.
func FetchHops(ctx context.Context, endpoints map[string]string, since time.Time) (map[string][]byte, error) {
	names := make([]string, 0, len(endpoints))
	for n := range endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string][]byte{}
	var errs error
	for _, name := range names {
		body, found, err := getHops(ctx, fmt.Sprintf("%s/hops?since=%d", endpoints[name], since.UnixNano()))
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("%s /hops: %w", name, err))
			continue
		}
		if found && len(body) > 0 {
			out[name] = body
		}
	}
	return out, errs
}

// saveHops keeps the hop logs in the results, one JSON-lines file per
// component and repetition, so the in-waist breakdown can be rebuilt from
// the results directory alone.
func saveHops(run *results.Run, id results.RepID, hops map[string][]byte) error {
	var errs error
	for name, body := range hops {
		file := fmt.Sprintf("hops_%s_%s_%d_rep%d_%s.jsonl", id.System, id.QPSProfile, id.Size, id.Rep, name)
		errs = errors.Join(errs, run.WriteFile(file, bytes.NewReader(body)))
	}
	return errs
}

// OverlayHops replaces the milestones that happen inside Kubedirect's waist
// with the links' own timestamps: there the API server sees the objects
// late (written in the background) or not at all, so its view would
// misplace the breakdown. Ready stays the harness's API-side observation,
// the end-to-end figure every system is judged by.
//   - ReplicaSet scaled: the ReplicaSet controller received the scale;
//   - created: the ReplicaSet controller sent the pod to the scheduler;
//   - scheduled and bound: the scheduler sent the bound pod to the node agent.
func OverlayHops(recs []results.PodRecord, hops map[string][]byte) (overlaid int, err error) {
	rsScaled := map[string]int64{} // namespace/ReplicaSet → first receipt
	created := map[string]int64{}  // namespace/pod
	bound := map[string]int64{}
	first := func(m map[string]int64, k string, t int64) {
		if old, ok := m[k]; !ok || t < old {
			m[k] = t
		}
	}
	for comp, body := range hops {
		evs, err := hoplog.Parse(body)
		if err != nil {
			return 0, fmt.Errorf("%s /hops %w", comp, err)
		}
		for _, e := range evs {
			key := e.Namespace + "/" + e.Name
			switch {
			case e.Hop == "replicaset" && e.Peer == "deployment" && e.Kind == "ReplicaSet" && e.Replicas > 0:
				first(rsScaled, key, e.RecvNs)
			case e.Hop == "scheduler" && e.Peer == "replicaset" && e.Kind == "Pod":
				first(created, key, e.SentNs)
			case e.Hop == "nodeagent" && e.Peer == "scheduler" && e.Kind == "Pod" && e.Phase == "Bound":
				first(bound, key, e.SentNs)
			}
		}
	}
	for i := range recs {
		r := &recs[i]
		key := r.Namespace + "/" + r.Pod
		c, okC := created[key]
		b, okB := bound[key]
		if !okC || !okB {
			continue
		}
		r.Created, r.Scheduled, r.Bound = c, b, b
		// A pod is named <ReplicaSet>-<suffix>.
		if j := strings.LastIndexByte(r.Pod, '-'); j > 0 {
			if t, ok := rsScaled[r.Namespace+"/"+r.Pod[:j]]; ok {
				r.RSScaled = t
			}
		}
		overlaid++
	}
	return overlaid, nil
}

func getHops(ctx context.Context, url string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, true, nil
}
