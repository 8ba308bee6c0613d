package drfaas

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/dirigent"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/trace"
)

// smallSchedule is a synthetic trace shrunk to run in seconds: second
// granularity, at most two invocations per function and second, runtimes of
// at most 300 ms.
func smallSchedule(t *testing.T, functions, seconds int) *trace.Schedule {
	t.Helper()
	tr, err := trace.Synth(trace.SynthOptions{Functions: functions, Minutes: seconds, Seed: 13})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tr.Functions {
		for i, n := range f.Invocations {
			f.Invocations[i] = min(n, 2)
		}
	}
	s, err := trace.Generate(tr, trace.Options{Minutes: seconds, Granularity: trace.Second, IAT: trace.Exponential, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	for _, fs := range s.Functions {
		for i := range fs.Invocations {
			fs.Invocations[i].RuntimeMs = min(fs.Invocations[i].RuntimeMs, 300)
		}
	}
	return s
}

// TestFig13TraceReplayOnLocalCluster replays a small trace through
// dirigent, dr-k8s+ and dr-kd+ on one real local cluster (they ask for the
// same spec: the "+" sandbox delay). Every issued invocation must complete
// and appear in the loader CSV, cold starts from zero included: Dirigent's
// own data plane and workers, and Dirigent's front-end scaling k8s+ through
// the API server and kd+ over the Kubedirect link.
func TestFig13TraceReplayOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster; skipped with -short")
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	systems := []replay.FrontEnder{
		&dirigent.System{},
		K8sPlus(k8s.New("k8s+", k8s.PlusSandboxDelay)),
		KdPlus(kd.New("kd+", kd.PlusSandboxDelay, bin)),
	}
	spec := systems[0].Cluster(clusters.Spec{Name: "dr", Nodes: 4})
	for _, s := range systems[1:] {
		if got := s.Cluster(clusters.Spec{Name: "dr", Nodes: 4}); got != spec {
			t.Fatalf("%s wants cluster %+v, dirigent %+v: they would not share one", s.Name(), got, spec)
		}
	}
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background(), "dr") })
	rc := *c.REST
	rc.QPS, rc.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(&rc)
	if err != nil {
		t.Fatal(err)
	}
	env := baselines.Env{Cluster: c, Client: cs, Logf: t.Logf}

	sched := smallSchedule(t, 10, 15)
	latency := map[string]float64{}
	for _, sys := range systems {
		if err := sys.Prepare(ctx, env); err != nil {
			t.Fatalf("preparing %s: %v", sys.Name(), err)
		}
		dir := t.TempDir()
		sum, err := replay.RunTrial(ctx, replay.Trial{
			System: sys, Env: env, Schedule: sched, Namespace: "trace-" + strings.NewReplacer("+", "plus").Replace(sys.Name()),
			Dir: dir, Log: io.Discard,
			Start: func(ctx context.Context, ns string, fns []string) (replay.FrontEnd, error) {
				return sys.StartFrontEnd(ctx, env, ns, fns)
			},
		})
		if terr := sys.Teardown(context.Background(), env); terr != nil {
			t.Errorf("tearing down %s: %v", sys.Name(), terr)
		}
		if err != nil {
			t.Fatalf("%s: %v", sys.Name(), err)
		}
		failed := 0
		for _, n := range sum.Failed {
			failed += n
		}
		if sum.Issued != sched.Len() || sum.Completed+failed != sum.Issued || sum.Completed != sum.Issued {
			t.Errorf("%s: issued %d of %d, completed %d, failed %v", sys.Name(), sum.Issued, sched.Len(), sum.Completed, sum.Failed)
		}
		recs, err := trace.ReadResultsFile(filepath.Join(dir, sum.ResultCSV))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != sum.Issued {
			t.Errorf("%s: %d records in %s for %d issued invocations", sys.Name(), len(recs), sum.ResultCSV, sum.Issued)
		}
		if sum.SchedulingLatencyMs.Functions == 0 {
			t.Errorf("%s: no per-function scheduling latency", sys.Name())
		}
		latency[sys.Name()] = sum.SchedulingLatencyMs.P50
		t.Logf("%s: %d invocations; per-function scheduling latency p50 %.1f ms, p99 %.1f ms; slowdown p50 %.2f",
			sys.Name(), sum.Issued, sum.SchedulingLatencyMs.P50, sum.SchedulingLatencyMs.P99, sum.Slowdown.P50)
	}
	t.Logf("median per-function scheduling latency: dr-kd+/dirigent %.2f, dr-kd+/dr-k8s+ %.2f",
		latency["dr-kd+"]/latency["dirigent"], latency["dr-kd+"]/latency["dr-k8s+"])
}
