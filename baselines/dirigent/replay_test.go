package dirigent

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/trace"
)

// TestTraceReplay replays a small synthetic Azure-shaped trace (per-second
// columns, so it lasts seconds) through an autoscaled deployment, loader
// style: every invocation fires at its offset, never waiting for earlier
// ones. Every issued invocation must come back as a record, the records
// must survive the loader's CSV format, and the Fig 13 metrics must cover
// the functions invoked more than once.
func TestTraceReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a trace in real time")
	}
	tr, err := trace.Synth(trace.SynthOptions{Functions: 12, Minutes: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Functions {
		f := &tr.Functions[i]
		for k := range f.Invocations {
			f.Invocations[k] = min(f.Invocations[k], 10)
		}
		f.Duration.Percentiles = [7]float64{1, 2, 5, 10, 20, 50, 80}
	}
	opts := trace.Options{Minutes: 4, Granularity: trace.Second, IAT: trace.Exponential, Seed: 42}
	sched, err := trace.Generate(tr, opts)
	if err != nil {
		t.Fatal(err)
	}

	d := start(t, fastConfig(4))
	ctx := context.Background()
	names := make([]string, len(sched.Functions))
	for i := range sched.Functions {
		names[i] = fmt.Sprintf("fn%02d", i)
		if err := d.Register(ctx, Function{Name: names[i], MemoryMiB: 128, Autoscale: true}); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu      sync.Mutex
		records []trace.Record
		failed  []error
		wg      sync.WaitGroup
		issued  int
	)
	begin := time.Now()
	for a := range sched.Timeline() {
		time.Sleep(time.Until(begin.Add(a.At)))
		issued++
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Call{ID: trace.InvocationID(opts.Granularity, a.Minute, a.MinuteIndex), RuntimeUs: int64(a.RuntimeMs) * 1000, MemoryMiB: int64(a.MemoryMiB)}
			rec, err := d.Invoke(ctx, names[a.Function], c)
			mu.Lock()
			defer mu.Unlock()
			records = append(records, rec)
			if err != nil {
				failed = append(failed, err)
			}
		}()
	}
	wg.Wait()
	if issued != sched.Len() || len(records) != issued {
		t.Fatalf("schedule of %d, issued %d, recorded %d", sched.Len(), issued, len(records))
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d invocations failed, first: %v", len(failed), issued, failed[0])
	}

	var buf bytes.Buffer
	w := trace.NewResultWriter(&buf)
	for i := range records {
		if err := w.Write(&records[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	back, err := trace.ReadResults(&buf, "replay.csv")
	if err != nil {
		t.Fatal(err)
	}
	multi := 0
	for _, fs := range sched.Functions {
		if len(fs.Invocations) > 1 {
			multi++
		}
	}
	m := metrics.Compute(metrics.Artifact, &metrics.Source{System: "dirigent", Format: metrics.CSV, CSV: back}, 0)
	lat, slow := m[metrics.SchedulingLatency], m[metrics.Slowdown]
	if len(lat.Functions) != multi {
		t.Errorf("scheduling latency covers %d functions, want the %d invoked more than once", len(lat.Functions), multi)
	}
	if len(slow.Functions) == 0 {
		t.Error("no function has a slowdown")
	}
	cold := 0
	for _, r := range back {
		if r.TimeToSubmitUs >= fastConfig(0).CreationCost.Microseconds() {
			cold++
		}
	}
	t.Logf("%d invocations of %d functions in %v; %d waited a sandbox creation or more; mean per-function scheduling latency %.1f ms",
		issued, len(sched.Functions), time.Since(begin).Round(time.Millisecond), cold, avg(lat.Values()))
}
