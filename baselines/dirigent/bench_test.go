package dirigent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkColdStarts reproduces the shape of Dirigent's cold-start
// throughput sweep (§5.2.3): every invocation goes to a function with no
// sandbox, issued at a fixed rate; worker daemons sleep 40 ms per sandbox.
// It reports sandbox creations/s and the cold-start latency percentiles:
// creations/s follows the rate until the system saturates, then latency
// climbs. One iteration is one cold start.
func BenchmarkColdStarts(b *testing.B) {
	for _, rate := range []int{100, 200, 400, 800, 1600} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			ctx := context.Background()
			d, err := Start(ctx, Config{Workers: 50, CreationCost: ScalabilityCreationCost})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			for i := range b.N {
				if err := d.Register(ctx, Function{Name: fmt.Sprintf("f%d", i), Autoscale: true}); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			var failed int
			var mu sync.Mutex
			var wg sync.WaitGroup
			gap := time.Second / time.Duration(rate)
			b.ResetTimer()
			begin := time.Now()
			for i := range b.N {
				if wait := time.Until(begin.Add(time.Duration(i) * gap)); wait > 0 {
					time.Sleep(wait)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					t0 := time.Now()
					_, err := d.Call(ctx, fmt.Sprintf("f%d", i), Call{ID: "min0.inv0", RuntimeUs: 1000})
					lat[i] = time.Since(t0)
					if err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(begin)
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(float64(d.ControlPlane.Creations())/elapsed.Seconds(), "creations/s")
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(failed), "failed")
		})
	}
}

// BenchmarkRegister500 is the time to register 500 functions one after the
// other through the control plane's API, as the paper's registration
// experiment does.
func BenchmarkRegister500(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		d, err := Start(ctx, Config{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := range 500 {
			if err := d.Register(ctx, Function{Name: fmt.Sprintf("f%d", i), MemoryMiB: 128, Autoscale: true}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = d.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/500fn")
}
