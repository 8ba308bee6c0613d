package knative

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/collectors/timeline"
)

// fakeCluster turns scale requests into Ready pods with unique IPs (and
// deletes pods on scale-down), as a cluster manager and node agent would.
type fakeCluster struct {
	t      *testing.T
	client *fake.Clientset
	mu     sync.Mutex
	pods   map[string][]string // function → pod names
	next   int
	scales []int32
}

func (c *fakeCluster) scale(ctx context.Context, ns, fn string, n int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scales = append(c.scales, n)
	pods := c.client.CoreV1().Pods(ns)
	for int32(len(c.pods[fn])) < n {
		c.next++
		name := fmt.Sprintf("%s-%d", fn, c.next)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{timeline.FunctionLabel: fn}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.250.%d.%d", c.next/200, c.next%200+2),
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return err
		}
		c.pods[fn] = append(c.pods[fn], name)
	}
	for int32(len(c.pods[fn])) > n {
		last := c.pods[fn][len(c.pods[fn])-1]
		if err := pods.Delete(ctx, last, metav1.DeleteOptions{}); err != nil {
			return err
		}
		c.pods[fn] = c.pods[fn][:len(c.pods[fn])-1]
	}
	return nil
}

// TestFrontEndColdStartsAndServes runs invocations through the whole
// front-end — gateway, KPA, pod source, in-process loopback sandboxes —
// against a fake cluster: the first invocation of each function waits for
// the scale from zero, and every invocation is accounted for.
func TestFrontEndColdStartsAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc := &fakeCluster{t: t, client: fake.NewSimpleClientset(), pods: map[string][]string{}}
	fns := []string{"fa", "fb"}
	fe, err := Start(ctx, Options{Client: fc.client, Namespace: "ns", Functions: fns, Scale: fc.scale,
		Profile: KnativeProfile(), InProcessSandboxes: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Stop()

	const perFunction = 6
	results := make(chan gateway.Result, perFunction*len(fns))
	var wg sync.WaitGroup
	for _, fn := range fns {
		for i := range perFunction {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- fe.Invoke(ctx, gateway.Invocation{Function: fn, Instance: fn + "-x", InvocationID: fmt.Sprintf("min0.inv%d", i),
					Phase: 2, Runtime: 20 * time.Millisecond, MemoryMiB: 100})
			}()
		}
	}
	wg.Wait()
	close(results)
	cold := 0
	for r := range results {
		if r.Reason != "" {
			t.Errorf("%s %s failed: %s: %v", r.Record.Instance, r.Record.InvocationID, r.Reason, r.Err)
			continue
		}
		if r.ColdStart {
			cold++
		}
		rec := r.Record
		if rec.ActualDurationUs < 20_000 || rec.ActualMemoryUsageMiB != 100 || rec.ResponseTimeUs < rec.ActualDurationUs {
			t.Errorf("record %+v: actual duration, memory or response time wrong", rec)
		}
	}
	if cold == 0 {
		t.Error("no invocation saw a cold start, though every function started at zero")
	}
	ds := fe.Decisions()
	if len(ds) < len(fns) || ds[0].Replicas < 1 {
		t.Errorf("decisions %+v: want a scale from zero per function", ds)
	}
}
