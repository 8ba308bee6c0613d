package failover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

// agentPodsMetric is the node agent's count of the pods it tracks;
// agentOrphansMetric counts those its housekeeping found gone from the API
// server without a delete event (a race the lifecycle's informer missed).
const (
	agentPodsMetric    = "kdbench_nodeagent_pods"
	agentOrphansMetric = "kdbench_nodeagent_orphan_pods_forgotten_total"
)

// agentPods reads agentPodsMetric from a node agent's /metrics at base.
func agentPods(ctx context.Context, base string) (float64, error) {
	return agentMetric(ctx, base, agentPodsMetric)
}

// agentMetric reads the unlabelled gauge or counter name from a node
// agent's /metrics at base.
func agentMetric(ctx context.Context, base, name string) (float64, error) {
	u := strings.TrimSuffix(base, "/") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("node agent metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("node agent metrics %s: %s", u, resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("node agent metrics %s: %w", u, err)
	}
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("node agent metrics %s: no %s", u, name)
	}
	m := f.GetMetric()[0]
	if c := m.GetCounter(); c != nil {
		return c.GetValue(), nil
	}
	return m.GetGauge().GetValue(), nil
}

// orphansSince says how many orphans the agent's housekeeping forgot since
// it read before (a restarted agent counts from zero), "" if none or
// unknown.
func orphansSince(ctx context.Context, base string, before float64) string {
	after, err := agentMetric(ctx, base, agentOrphansMetric)
	if err != nil {
		return ""
	}
	n := after - before
	if after < before {
		n = after
	}
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("node agent housekeeping forgot %g pods gone from the API server without a delete event", n)
}

// agentLeak waits up to limit for the node agent at base to track no pod
// (it drops a pod when the API server's deletion reaches it) and returns a
// Leak violation with the last count it read, or an error if it never
// read one.
func agentLeak(ctx context.Context, base string, limit time.Duration) ([]Violation, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last, lastErr := -1.0, error(nil)
	for {
		n, err := agentPods(ctx, base)
		switch {
		case err == nil && n == 0:
			return nil, nil
		case err == nil:
			last = n
		case ctx.Err() == nil: // not the deadline cutting a scrape short
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if last < 0 {
				return nil, errors.Join(lastErr, fmt.Errorf("no pod count from the node agent at %s within %s", base, limit))
			}
			msg := fmt.Sprintf("the node agent still tracks %g pods %s after the API server showed none", last, limit)
			if names := agentPodNames(context.WithoutCancel(ctx), base); len(names) > 0 {
				msg += ": " + strings.Join(names, ", ")
			}
			return []Violation{{Leak, msg}}, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// agentPodNames names (at most 10 of) the pods the node agent at base
// tracks, from its /pods, with their UID and state: what a leak report
// needs to be followed up. Best effort: nil if /pods cannot be read.
func agentPodNames(ctx context.Context, base string) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/pods", nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var pods []nodeagent.TrackedPod
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&pods) != nil {
		return nil
	}
	var out []string
	for i, p := range pods {
		if i == 10 {
			out = append(out, fmt.Sprintf("and %d more", len(pods)-i))
			break
		}
		out = append(out, fmt.Sprintf("%s/%s (uid %s, %s on %s)", p.Namespace, p.Name, p.UID, p.State, p.Node))
	}
	return out
}
