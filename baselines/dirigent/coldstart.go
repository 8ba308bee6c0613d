package dirigent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ColdStarts is one point of the cold-start throughput sweep.
type ColdStarts struct {
	// Rate is the requested invocations per second, each a cold start.
	Rate                      float64
	Issued, Completed, Failed int
	// Creations is the sandboxes created; PerSecond divides them by the
	// time from the first issue to the last completion.
	Creations int
	Elapsed   time.Duration
	PerSecond float64
	// P50 and P99 are the invocations' end-to-end latencies.
	P50, P99 time.Duration
}

func (c ColdStarts) String() string {
	return fmt.Sprintf("rate %6.0f/s: %6.1f creations/s, p50 %v, p99 %v, %d of %d failed",
		c.Rate, c.PerSecond, c.P50.Round(time.Millisecond), c.P99.Round(time.Millisecond), c.Failed, c.Issued)
}

// RunColdStarts measures one point of Dirigent's scalability experiment
// (§5.2.3) on a fresh deployment of cfg: n invocations issued at rate per
// second, each of its own autoscaled function with no sandbox, so each
// needs a sandbox creation (the paper's workers sleep 40 ms for one).
func RunColdStarts(ctx context.Context, cfg Config, rate float64, n int) (ColdStarts, error) {
	if rate <= 0 || n <= 0 {
		return ColdStarts{}, fmt.Errorf("cold starts: rate %v and count %d must be positive", rate, n)
	}
	d, err := Start(ctx, cfg)
	if err != nil {
		return ColdStarts{}, err
	}
	defer d.Close()
	for i := range n {
		if err := d.Register(ctx, Function{Name: fmt.Sprintf("cold%d", i), Autoscale: true}); err != nil {
			return ColdStarts{}, err
		}
	}
	res := ColdStarts{Rate: rate, Issued: n}
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	gap := time.Duration(float64(time.Second) / rate)
	begin := time.Now()
	for i := range n {
		if wait := time.Until(begin.Add(time.Duration(i) * gap)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				wg.Wait()
				return res, ctx.Err()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			_, err := d.Call(ctx, fmt.Sprintf("cold%d", i), Call{ID: "min0.inv0", RuntimeUs: 1000})
			lat[i] = time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
			} else {
				res.Completed++
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(begin)
	res.Creations = d.ControlPlane.Creations()
	res.PerSecond = float64(res.Creations) / res.Elapsed.Seconds()
	slices.Sort(lat)
	res.P50, res.P99 = lat[(n-1)/2], lat[(n-1)*99/100]
	return res, nil
}
