package knative

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/baselines/knative/serving"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/workloads/replay"
	"github.com/kdbench/kdbench/workloads/replay/replaytest"
	"github.com/kdbench/kdbench/workloads/trace"
)

// TestRealKnativeTraceReplay replays a one-minute synthetic trace of five
// functions through real Knative Serving on kn-k8s and kn-kd on one local
// cluster: a Knative Service per function, every invocation through the
// real activator to the node agent's queue-proxies in Serving's pods
// namespace, cold starts made by the KPA. Every invocation must be
// accounted for (completed, or failed with a reason), Service,
// Configuration, Revision, PodAutoscaler and ServerlessService present and
// Ready (the last two idle behind the activator at zero pods, Ready once a
// function's pods serve).
func TestRealKnativeTraceReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster and real Knative; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("real Knative needs root (network namespaces); run as root")
	}
	if err := serving.CheckBinaries(serving.BinDir(), "controller", "autoscaler", "activator"); err != nil {
		t.Skipf("skipping (make knative builds them): %v", err)
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	systems := []*Real{NewReal(RealK8s, k8s.New("k8s", 0)), NewReal(RealKd, kd.New("kd", 0, bin))}
	env := replaytest.LocalEnv(ctx, t, bin, systems[0].Cluster(clusters.Spec{Name: "knreal", Nodes: 4}))
	dc := dynamic.NewForConfigOrDie(env.Cluster.REST)
	sched := replaytest.SmallSchedule(t, 5, 60, 7)
	sums := map[string]replay.Summary{}
	for _, sys := range systems {
		t.Run(sys.Name(), func(t *testing.T) {
			sums[sys.Name()] = replayReal(ctx, t, env, dc, sys, sched)
		})
	}
	if k, d := sums[RealK8s], sums[RealKd]; k.SchedulingLatencyMs.P50 > 0 && d.SchedulingLatencyMs.P50 > 0 {
		t.Logf("kn-kd / kn-k8s median per-function scheduling latency (real Knative): %.2f", d.SchedulingLatencyMs.P50/k.SchedulingLatencyMs.P50)
	}
}

func replayReal(ctx context.Context, t *testing.T, env baselines.Env, dc dynamic.Interface, sys *Real, sched *trace.Schedule) replay.Summary {
	if err := sys.Prepare(ctx, env); err != nil {
		t.Fatalf("preparing %s: %v", sys.Name(), err)
	}
	tornDown := false
	teardown := func() {
		if !tornDown {
			tornDown = true
			if err := sys.Teardown(context.Background(), env); err != nil {
				t.Errorf("tearing down %s: %v", sys.Name(), err)
			}
		}
	}
	defer teardown()
	f := sys.FrontEndFacts()
	if f.Knative != "v0.42.2 (Knative Serving 1.15)" || f.Over != sys.Inner().Name() {
		t.Errorf("front-end facts %+v", f)
	}
	ns := "trace-" + baselines.Slug(sys.Name())
	dir := t.TempDir()
	sum, err := replay.RunTrial(ctx, replay.Trial{
		System: sys, Env: env, Schedule: sched, Namespace: ns, Dir: dir, Log: testLog{t},
		Start: func(ctx context.Context, ns string, fns []string) (replay.FrontEnd, error) {
			inner, err := sys.StartFrontEnd(ctx, env, ns, fns)
			if err != nil {
				return nil, err
			}
			// Knative's own objects, as its controllers report them.
			if _, err := serving.WaitAllReady(ctx, dc, ns, fns, false, 10*time.Second); err != nil {
				t.Errorf("after the front-end started: %v", err)
			}
			_, viaKd := sys.Inner().(*kd.System)
			fe := &checkedFrontEnd{FrontEnd: inner, t: t, ctx: ctx, dc: dc, cs: env.Client, ns: ns, viaKd: viaKd, served: map[string]bool{}}
			return fe, nil
		},
	})
	teardown()
	if err != nil {
		t.Fatalf("%s: %v", sys.Name(), err)
	}
	failed := 0
	for reason, n := range sum.Failed {
		if reason == "" || reason == gateway.ReasonCanceled {
			t.Errorf("%s: %d invocations failed with reason %q", sys.Name(), n, reason)
		}
		failed += n
	}
	if sum.Issued != sched.Len() || sum.Completed+failed != sum.Issued {
		t.Errorf("%s: issued %d of %d, completed %d, failed %v: not every invocation accounted for", sys.Name(), sum.Issued, sched.Len(), sum.Completed, sum.Failed)
	}
	if sum.Completed == 0 {
		t.Errorf("%s: no invocation completed (failed %v)", sys.Name(), sum.Failed)
	}
	recs, err := trace.ReadResultsFile(filepath.Join(dir, sum.ResultCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != sum.Issued {
		t.Errorf("%s: %d records in %s for %d issued invocations", sys.Name(), len(recs), sum.ResultCSV, sum.Issued)
	}
	if sum.FrontEnd == nil || sum.FrontEnd.Knative != f.Knative {
		t.Errorf("%s: summary's front-end facts %+v, want Knative %q", sys.Name(), sum.FrontEnd, f.Knative)
	}
	t.Logf("%s: %d invocations, %d completed, failed %v; per-function scheduling latency p50 %.1f ms, p99 %.1f ms",
		sys.Name(), sum.Issued, sum.Completed, sum.Failed, sum.SchedulingLatencyMs.P50, sum.SchedulingLatencyMs.P99)
	return sum
}

// checkedFrontEnd notes which functions completed an invocation; at Stop
// (before the trial deletes its namespace) their PodAutoscalers and
// ServerlessServices must be Ready, pods serving behind them.
type checkedFrontEnd struct {
	replay.FrontEnd
	t      *testing.T
	ctx    context.Context
	dc     dynamic.Interface
	cs     kubernetes.Interface
	ns     string
	viaKd  bool
	mu     sync.Mutex
	served map[string]bool
}

func (f *checkedFrontEnd) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	r := f.FrontEnd.Invoke(ctx, inv)
	if r.Reason == "" {
		f.mu.Lock()
		f.served[inv.Function] = true
		f.mu.Unlock()
	}
	return r
}

func (f *checkedFrontEnd) Stop() {
	f.mu.Lock()
	var fns []string
	for fn := range f.served {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	if len(fns) > 0 {
		if _, err := serving.WaitAllReady(f.ctx, f.dc, f.ns, fns, true, 30*time.Second); err != nil {
			f.t.Errorf("functions that served: %v", err)
		}
	}
	// Which path made the revisions' pods: Kubedirect's (its link
	// identity on each) for kn-kd, Kubernetes' controllers for kn-k8s.
	pods, err := f.cs.CoreV1().Pods(f.ns).List(f.ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision"})
	if err != nil || len(pods.Items) == 0 {
		f.t.Errorf("the revisions' pods in %s: %v (%d)", f.ns, err, len(pods.Items))
	}
	for _, p := range pods.Items {
		if _, viaKd := p.Annotations[nodeagent.IdentityAnnotation]; viaKd != f.viaKd {
			f.t.Errorf("pod %s/%s: Kubedirect identity annotation present %v, want %v", p.Namespace, p.Name, viaKd, f.viaKd)
		}
	}
	f.t.Logf("%d functions served from %d Knative pods, PodAutoscalers and ServerlessServices Ready", len(fns), len(pods.Items))
	f.FrontEnd.Stop()
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(p))
	return len(p), nil
}
