package burst

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
)

// saveHops keeps the per-hop message timestamps that a system's components
// serve on /hops (Kubedirect's links), one JSON-lines file per component
// and repetition, so the in-waist breakdown can be rebuilt from the results
// alone. Components without /hops are skipped.
func saveHops(ctx context.Context, run *results.Run, id results.RepID, endpoints map[string]string, since time.Time) error {
	names := make([]string, 0, len(endpoints))
	for n := range endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	var firstErr error
	for _, name := range names {
		body, found, err := getHops(ctx, fmt.Sprintf("%s/hops?since=%d", endpoints[name], since.UnixNano()))
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s /hops: %w", name, err)
			}
			continue
		}
		if !found || len(body) == 0 {
			continue
		}
		file := fmt.Sprintf("hops_%s_%s_%d_rep%d_%s.jsonl", id.System, id.QPSProfile, id.Size, id.Rep, name)
		if err := run.WriteFile(file, bytes.NewReader(body)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
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
