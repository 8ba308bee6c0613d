package nodeagent

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
)

// BenchmarkScale registers the scale-nodes experiment's largest cluster (2000 nodes)
// and drives 10k pods (5 per node) to Ready on the fake clientset, with the wall clock.
// Reported: time to all nodes Ready, pods made Ready per second, and the heap in use
// with everything running. The fake clientset serialises every request behind one lock
// and keeps a copy of each, so these numbers bound the agent's own overhead from
// above; the integration benchmark against the real cluster gives the real ones.
func BenchmarkScale(b *testing.B) {
	const nodes, pods = 2000, 10000
	podsGVR := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	var regTotal, podTotal time.Duration
	var heap uint64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		// The simple tracker: NewClientset's field management costs 5× the agent's own
		// work per status update and would be what this measured.
		client := fake.NewSimpleClientset() //nolint:staticcheck // deliberate, see above
		podWatch := make(chan struct{})
		var once atomic.Bool
		client.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
			w, err := client.Tracker().Watch(action.GetResource(), action.GetNamespace())
			if err == nil && action.GetResource().Resource == "pods" && once.CompareAndSwap(false, true) {
				close(podWatch)
			}
			return true, w, err
		})
		var started atomic.Int64
		allReady := make(chan struct{})
		a, err := New(client, Config{Nodes: nodes},
			WithRegisterer(prometheus.NewRegistry()),
			WithObserver(ObserverFunc(func(PodTiming) {
				if started.Add(1) == pods {
					close(allReady)
				}
			})))
		if err != nil {
			b.Fatal(err)
		}
		// Silence the agent's log: it would interleave with the benchmark's result line.
		ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logr.Discard()))
		runErr := make(chan error, 1)

		t0 := time.Now()
		go func() { runErr <- a.Run(ctx) }()
		if err := a.WaitForNodes(ctx); err != nil {
			b.Fatal(err)
		}
		regTotal += time.Since(t0)
		<-podWatch

		t1 := time.Now()
		for j := range pods {
			p := boundPod(fmt.Sprintf("p%d", j), nodeName(DefaultNamePrefix, j%nodes))
			p.UID = types.UID(fmt.Sprintf("uid-%d-%d", i, j))
			if err := client.Tracker().Create(podsGVR, p, p.Namespace); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-allReady:
		case <-time.After(5 * time.Minute):
			b.Fatalf("only %d of %d pods Ready", started.Load(), pods)
		}
		podTotal += time.Since(t1)

		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		cancel()
		if err := <-runErr; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(regTotal.Milliseconds())/float64(b.N), "nodes-ready-ms/op")
	b.ReportMetric(float64(pods*b.N)/podTotal.Seconds(), "pods-ready/s")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
}
