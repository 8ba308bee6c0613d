package replay

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/timeline"
	"github.com/kdbench/kdbench/workloads/burst"
)

// coldStartWatch is what RunTrial keeps of a replay for its cold-start
// breakdown: the bursts' timeline collector on the replay's namespace (the
// revision Deployments' replicas, the pods' milestones) and each
// invocation's issue and start times, 24 bytes per invocation (only for a
// ColdStartTimer, not for the soak's model).
type coldStartWatch struct {
	col   *timeline.Collector
	began time.Time
	invs  map[string][]InvocationTimes // by function; the recording goroutine's
}

// startColdStartWatch opens the watches before the replay's first
// invocation, so that every scale-up is seen from its first event.
func startColdStartWatch(ctx context.Context, env baselines.Env, namespace string) (*coldStartWatch, error) {
	col := timeline.New(env.Client, namespace, nil, nil)
	if err := col.Start(ctx); err != nil {
		col.Stop()
		return nil, fmt.Errorf("watching %s for the cold-start breakdown: %w", namespace, err)
	}
	began := time.Now()
	if err := col.MarkBurstStart(began, nil); err != nil {
		col.Stop()
		return nil, err
	}
	return &coldStartWatch{col: col, began: began, invs: map[string][]InvocationTimes{}}, nil
}

// record keeps one result's times: issued at StartTime, started its
// reported execution time before the response arrived.
func (w *coldStartWatch) record(r gateway.Result) {
	rec := &r.Record
	fn, _, _ := strings.Cut(rec.Instance, "-") // fn<row>-<hash>: the replay's function
	t := InvocationTimes{Issued: rec.StartTime * 1e3, Phase: rec.Phase}
	if r.Reason == "" {
		t.Started = (rec.StartTime + rec.ResponseTimeUs - rec.ActualDurationUs) * 1e3
	}
	w.invs[fn] = append(w.invs[fn], t)
}

// pods stops the watches and returns what they saw of every pod: where it
// ran and its milestones.
func (w *coldStartWatch) pods(sys baselines.System) []results.PodRecord {
	w.col.Stop()
	return w.col.Records(results.RepID{System: sys.Name()}, "azure-trace")
}

// breakdown splits the cold starts of pods (as w.pods returned them), with
// Kubedirect's hop timestamps overlaid on its pods where sys serves them.
func (w *coldStartWatch) breakdown(sys baselines.System, pods []results.PodRecord, log io.Writer) *ColdStartBreakdown {
	hopTimed := map[string]bool{}
	if o, ok := sys.(baselines.Observable); ok && len(o.Endpoints()) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		hops, err := burst.FetchHops(ctx, o.Endpoints(), w.began)
		cancel()
		if err != nil {
			fmt.Fprintf(log, "warning: %s cold-start breakdown: %v\n", sys.Name(), err)
		}
		before := make([]int64, len(pods))
		for i, p := range pods {
			before[i] = p.Bound
		}
		if _, err := burst.OverlayHops(pods, hops); err != nil {
			fmt.Fprintf(log, "warning: %s cold-start breakdown: %v\n", sys.Name(), err)
		}
		for i, p := range pods {
			if p.Bound != before[i] {
				hopTimed[p.Namespace+"/"+p.Pod] = true
			}
		}
	}
	b := BreakDownColdStarts(ColdStartInput{Scales: w.col.Scales(), Pods: pods, Invocations: w.invs, HopTimed: hopTimed})
	return &b
}
