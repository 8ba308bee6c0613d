package dirigent

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkColdStarts reproduces the shape of Dirigent's cold-start
// throughput sweep (§5.2.3): creations/s follows the request rate until the
// deployment saturates, then the latency climbs. One iteration is one cold
// start; workers sleep 40 ms per sandbox.
func BenchmarkColdStarts(b *testing.B) {
	for _, rate := range []float64{100, 200, 400, 800, 1600} {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			res, err := RunColdStarts(context.Background(), Config{Workers: 50, CreationCost: ScalabilityCreationCost}, rate, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond, "creations/s")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(res.Failed), "failed")
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
