package timeline

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

// BenchmarkPodLifecycle measures the collector's own cost per pod (ns/op):
// the handler work for the three events a pod's start takes (created, bound,
// running+ready), without informers. It must stay far below the
// milliseconds a pod's start takes, or the collector would be the lag.
func BenchmarkPodLifecycle(b *testing.B) {
	clk := clocktesting.NewFakePassiveClock(t0)
	c := New(fake.NewClientset(), testNS, labels.Everything(), clk)
	if err := c.MarkBurstStart(t0, map[string]int32{"fn-a": int32(b.N)}); err != nil {
		b.Fatal(err)
	}
	pods := make([][3]*corev1.Pod, b.N)
	for i := range pods {
		p := newPod("fn-a", fmt.Sprintf("a-%d", i))
		bound := p.DeepCopy()
		bound.Spec.NodeName = "node-0"
		setCondition(bound, corev1.PodScheduled)
		up := bound.DeepCopy()
		started(up)
		pods[i] = [3]*corev1.Pod{p, bound, up}
	}
	b.ResetTimer()
	start := time.Now()
	for i := range pods {
		c.onPod(pods[i][0], true)
		c.onPod(pods[i][1], false)
		c.onPod(pods[i][2], false)
	}
	b.ReportMetric(3*float64(b.N)/time.Since(start).Seconds(), "events/s")
	if c.Ready() != b.N {
		b.Fatalf("%d of %d pods Ready", c.Ready(), b.N)
	}
}
