package floor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
)

// Trial is one concurrency Tune tried and the floor it measured.
type Trial struct {
	Concurrency int
	P90         time.Duration
}

// Tune measures cfg once at each candidate concurrency (capped at the pod
// count) and returns the one with the lowest p90, with every trial: the
// API server's floor is at whatever concurrency it serves best, which on a
// 2-core machine is not the highest.
func Tune(ctx context.Context, cfg Config, candidates []int) (best int, trials []Trial, err error) {
	if len(candidates) == 0 {
		candidates = DefaultConcurrency
	}
	var cs []int
	for _, c := range candidates {
		c = min(c, cfg.Pods)
		if c > 0 && !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	base := cfg.Namespace
	for _, c := range cs {
		cfg.Concurrency, cfg.Namespace = c, fmt.Sprintf("%s-c%d", base, c)
		r, err := Measure(ctx, cfg)
		if err != nil {
			return 0, trials, err
		}
		trials = append(trials, Trial{Concurrency: c, P90: r.P90()})
	}
	return Best(trials), trials, nil
}

// Best is the concurrency of the fastest trial (the lower one on a tie).
func Best(trials []Trial) int {
	best := -1
	for i, t := range trials {
		if t.P90 <= 0 {
			continue
		}
		if best < 0 || t.P90 < trials[best].P90 || (t.P90 == trials[best].P90 && t.Concurrency < trials[best].Concurrency) {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	return trials[best].Concurrency
}

// Records are the measurement as pod records (System floor) for pods.csv:
// BurstStart is the first request, Created the create's reply, Running the
// status write's reply and Ready the watch's sighting, so that the floor's
// e2e figures come out of the same summary as the systems'.
func (r Result) Records() []results.PodRecord {
	out := make([]results.PodRecord, 0, len(r.Pods))
	for _, p := range r.Pods {
		out = append(out, results.PodRecord{Namespace: r.Namespace, Function: System, Pod: p.Name, Node: p.Node,
			BurstStart: r.Start.UnixNano(), Created: p.Created, Running: p.Written, Ready: p.Ready})
	}
	return out
}
