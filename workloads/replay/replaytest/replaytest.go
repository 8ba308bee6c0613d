// Package replaytest holds what the FaaS systems' real-cluster replay tests
// share: a trace small enough to replay in seconds, a local cluster to
// replay it on, and a replay of it through each system with every
// invocation accounted for. Only tests import it.
package replaytest

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/trace"
)

// SmallSchedule is a synthetic trace (Synth with seed) shrunk to run in
// seconds: second granularity, at most two invocations per function and
// second, runtimes of at most 300 ms.
func SmallSchedule(t testing.TB, functions, seconds int, seed int64) *trace.Schedule {
	t.Helper()
	tr, err := trace.Synth(trace.SynthOptions{Functions: functions, Minutes: seconds, Seed: seed})
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

// LocalEnv brings up a local cluster for spec, stopped when the test ends,
// and returns the environment systems are prepared in.
func LocalEnv(ctx context.Context, t testing.TB, bin string, spec clusters.Spec) baselines.Env {
	t.Helper()
	localtest.RequireUpstream(t)
	p := local.New(local.Options{Root: t.TempDir(), Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background(), spec.Name) })
	rc := *c.REST
	rc.QPS, rc.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(&rc)
	if err != nil {
		t.Fatal(err)
	}
	return baselines.Env{Cluster: c, Client: cs, Logf: t.Logf}
}

// ReplayEach replays sched through each system in turn on env (prepared
// before, torn down after) and checks that every invocation is accounted
// for: all issued, all completed, one loader-CSV row each, and a
// per-function scheduling latency. It returns the summaries by system.
func ReplayEach(ctx context.Context, t testing.TB, env baselines.Env, sched *trace.Schedule, systems ...replay.FrontEnder) map[string]replay.Summary {
	t.Helper()
	out := map[string]replay.Summary{}
	for _, sys := range systems {
		if err := sys.Prepare(ctx, env); err != nil {
			t.Fatalf("preparing %s: %v", sys.Name(), err)
		}
		dir := t.TempDir()
		sum, err := replay.RunTrial(ctx, replay.Trial{
			System: sys, Env: env, Schedule: sched, Namespace: "trace-" + baselines.Slug(sys.Name()),
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
		if sum.Issued != sched.Len() || sum.Completed != sum.Issued {
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
		t.Logf("%s: %d invocations; per-function scheduling latency p50 %.1f ms, p99 %.1f ms; slowdown p50 %.2f",
			sys.Name(), sum.Issued, sum.SchedulingLatencyMs.P50, sum.SchedulingLatencyMs.P99, sum.Slowdown.P50)
		out[sys.Name()] = sum
	}
	return out
}
