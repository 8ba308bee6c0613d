package selfcheck

import (
	"fmt"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
)

// Thresholds of the lag checks: beyond them the harness's watch or the
// simulated kubelet, not the control plane, may be what a run measured.
const (
	WatchLagThreshold     = 100 * time.Millisecond
	NodeAgentLagThreshold = 50 * time.Millisecond
)

// unverified is a check that could not be computed: it warns, since a run
// that cannot vouch for its harness should say so.
func unverified(id results.RepID, name, unit string, threshold float64, detail string) results.SelfCheck {
	c := results.NewSelfCheck(id, name, unit, 0, threshold, "not measured: "+detail)
	c.Verdict = results.VerdictWarn
	return c
}

func ms(s float64) string { return fmt.Sprintf("%.1f ms", s*1e3) }

// WatchLag compares, for each pod the harness saw Ready, when it saw it
// with when the node agent's Ready write was accepted, and reports the p99
// over pods as CheckWatchLag (p50 and max in the detail). The write's
// acceptance follows the change's commit, so a watch event may beat it:
// such pods count as 0 lag, and the value is a lower bound of the true lag.
// No Ready pods, no check; Ready pods that the agent did not report (it
// marked none of them) give an unverified warning.
func WatchLag(id results.RepID, recs []results.PodRecord, timings []PodTiming) []results.SelfCheck {
	byPod := make(map[[2]string]PodTiming, len(timings))
	for _, t := range timings {
		byPod[[2]string{t.Namespace, t.Name}] = t
	}
	var lags []float64
	readyPods, early := 0, 0
	for _, r := range recs {
		if r.Ready == 0 {
			continue
		}
		readyPods++
		t, ok := byPod[[2]string{r.Namespace, r.Pod}]
		if !ok {
			continue
		}
		lag := time.Duration(r.Ready - t.ReadyWrittenNs)
		if lag < 0 {
			early++
			lag = 0
		}
		lags = append(lags, lag.Seconds())
	}
	if readyPods == 0 {
		return nil
	}
	if len(lags) == 0 {
		return []results.SelfCheck{unverified(id, results.CheckWatchLag, "seconds", WatchLagThreshold.Seconds(),
			fmt.Sprintf("the node agent reported none of the %d pods seen Ready (%d timings)", readyPods, len(timings)))}
	}
	s, err := stats.Percentiles(lags)
	if err != nil { // cannot happen: no NaN from integers
		return []results.SelfCheck{unverified(id, results.CheckWatchLag, "seconds", WatchLagThreshold.Seconds(), err.Error())}
	}
	return []results.SelfCheck{results.NewSelfCheck(id, results.CheckWatchLag, "seconds", s.P99, WatchLagThreshold.Seconds(),
		fmt.Sprintf("harness Ready seen − node agent Ready written over %d of %d Ready pods: p50 %s, p99 %s, max %s; %d seen before the write returned (counted 0)",
			s.N, readyPods, ms(s.P50), ms(s.P99), ms(s.Max), early))}
}

// NodeAgentLag reports the node agent's own delay: per pod, Ready written −
// bound seen − the configured sandbox delay; the p99 as CheckNodeAgentLag.
// No timings, no check.
func NodeAgentLag(id results.RepID, timings []PodTiming, sandboxDelay time.Duration) []results.SelfCheck {
	if len(timings) == 0 {
		return nil
	}
	lags := make([]float64, len(timings))
	for i, t := range timings {
		lags[i] = (time.Duration(t.ReadyWrittenNs-t.BoundSeenNs) - sandboxDelay).Seconds()
	}
	s, err := stats.Percentiles(lags)
	if err != nil {
		return []results.SelfCheck{unverified(id, results.CheckNodeAgentLag, "seconds", NodeAgentLagThreshold.Seconds(), err.Error())}
	}
	return []results.SelfCheck{results.NewSelfCheck(id, results.CheckNodeAgentLag, "seconds", s.P99, NodeAgentLagThreshold.Seconds(),
		fmt.Sprintf("node agent bound seen → Ready written, minus its %s sandbox delay, over %d pods: p50 %s, p99 %s, max %s",
			sandboxDelay, s.N, ms(s.P50), ms(s.P99), ms(s.Max)))}
}
