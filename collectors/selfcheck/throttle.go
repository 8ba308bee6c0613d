// Package selfcheck measures the harness's own health during a repetition,
// so that a run whose harness was the bottleneck says so: client-side
// throttling, watch lag, node-agent lag and dropped watch events.
package selfcheck

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"k8s.io/client-go/tools/metrics"

	"github.com/kdbench/kdbench/collectors/results"
)

// throttle accumulates client-go rate-limiter waits. client-go accepts one
// hook per process, registered once; windows read and reset it.
var throttle struct {
	once       sync.Once
	mu         sync.Mutex
	total, max time.Duration
	count      int
}

type rateLimiterHook struct{}

func (rateLimiterHook) Observe(_ context.Context, _ string, _ url.URL, d time.Duration) {
	throttle.mu.Lock()
	defer throttle.mu.Unlock()
	throttle.total += d
	throttle.count++
	if d > throttle.max {
		throttle.max = d
	}
}

// ThrottleWindow measures rate-limiter waits from its start.
type ThrottleWindow struct{ total, max time.Duration }

// StartThrottleWindow registers the hook (once per process) and resets the
// accumulator, so the window sees this repetition's waits only.
func StartThrottleWindow() *ThrottleWindow {
	throttle.once.Do(func() {
		metrics.Register(metrics.RegisterOpts{RateLimiterLatency: rateLimiterHook{}})
	})
	throttle.mu.Lock()
	defer throttle.mu.Unlock()
	throttle.total, throttle.max, throttle.count = 0, 0, 0
	return &ThrottleWindow{}
}

// ThrottleThreshold is how much total client-side waiting a repetition may
// see before its numbers count as the harness's, not the system's.
const ThrottleThreshold = 10 * time.Millisecond

// Check reports the window's total wait.
func (w *ThrottleWindow) Check(id results.RepID) results.SelfCheck {
	throttle.mu.Lock()
	total, max, n := throttle.total, throttle.max, throttle.count
	throttle.mu.Unlock()
	// client-go reports every request's limiter latency, mostly ~0; only
	// waits of a millisecond or more are throttling worth naming.
	return results.NewSelfCheck(id, results.CheckClientThrottle, "seconds", total.Seconds(), ThrottleThreshold.Seconds(),
		fmt.Sprintf("%d requests through the harness's rate limiter, longest wait %s", n, max))
}
