package replay

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/burst"
	"github.com/kdbench/kdbench/workloads/trace"
)

type stoppable struct {
	*invoker
	stopped bool
}

func (s *stoppable) Stop() { s.stopped = true }

// podStarter creates one pod, bound to node, at the first invocation: as a
// scale-up from zero does.
type podStarter struct {
	*stoppable
	cs   *fake.Clientset
	node string
	once sync.Once
}

func (p *podStarter) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	p.once.Do(func() {
		_, _ = p.cs.CoreV1().Pods("ns").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fn-pod", Namespace: "ns"},
			Spec: corev1.PodSpec{NodeName: p.node}}, metav1.CreateOptions{})
	})
	return p.stoppable.Invoke(ctx, inv)
}

func TestRunTrialWritesResultsAndSummary(t *testing.T) {
	s := schedule(t, 6, 2)
	fns := Functions(s)
	cs := fake.NewSimpleClientset()
	// The fake API has no deployment controller: the ReplicaSets Prepare
	// waits for are there already.
	for _, f := range fns {
		if _, err := cs.AppsV1().ReplicaSets("ns").Create(context.Background(), &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
			Name: f.Deployment + "-1", Namespace: "ns", Labels: map[string]string{burst.FunctionLabel: f.Deployment}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	stepCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go advance(stepCtx, clk)
	fe := &podStarter{stoppable: &stoppable{invoker: &invoker{failEvery: 5, clock: clk, start: clk.Now()}}, cs: cs, node: "w2-0"}
	var started []string
	dir := t.TempDir()
	sys, err := baselines.Get("k8s")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := RunTrial(context.Background(), Trial{
		System: sys, Env: baselines.Env{Client: cs}, Schedule: s, WarmupMinutes: 1, Namespace: "ns",
		Dir: dir, Log: io.Discard, Clock: clk,
		Memory: func() (MemorySample, error) { return MemorySample{RSS: 64 << 20, Heap: 8 << 20}, nil },
		Start: func(_ context.Context, ns string, names []string) (FrontEnd, error) {
			started = names
			return fe, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(started) != len(fns) || started[0] != fns[0].Deployment || !fe.stopped {
		t.Errorf("front-end started for %v, stopped %v", started, fe.stopped)
	}
	recs, err := trace.ReadResultsFile(filepath.Join(dir, sum.ResultCSV))
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range recs {
		if r.Failed() {
			failed++
		}
	}
	if len(recs) != s.Len() || sum.Issued != s.Len() || sum.Completed+failed != sum.Issued || sum.Failed["dispatch-timeout"] != failed {
		t.Errorf("csv has %d rows (%d failed), summary %+v; schedule %d", len(recs), failed, sum, s.Len())
	}
	b, err := os.ReadFile(filepath.Join(dir, "k8s_summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil || back.Issued != sum.Issued || back.SchedulingLatencyMs.Warmup == 0 {
		t.Errorf("summary file %s: %v", b, err)
	}
	// k8s states no front-end: the summary says its components are unknown.
	if f := back.FrontEnd; f == nil || f.Knative != "" || len(f.Real) != 0 || len(f.Modelled) != 1 {
		t.Errorf("front-end facts %+v", f)
	}
	if m := back.Memory; m == nil || m.Samples < 2 || m.PeakRSSBytes != 64<<20 || m.PeakHeapBytes != 8<<20 || m.RSSGrowthBytesPerMinute != 0 {
		t.Errorf("memory summary %+v", m)
	}
	// The pod the replay scaled up is listed with its node: which host
	// served it.
	pods, err := results.ReadPodsFile(filepath.Join(dir, back.PodsCSV))
	if err != nil || len(pods) != 1 || pods[0].Pod != "fn-pod" || pods[0].Node != "w2-0" || pods[0].Created == 0 {
		t.Errorf("%s: %+v, %v", back.PodsCSV, pods, err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "ns", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace left behind: %v", err)
	}
}
