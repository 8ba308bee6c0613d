// Package selfcheck measures the harness's own health during a repetition,
// so that a run whose harness was the bottleneck says so: client-side
// throttling (client-go's rate limiter), watch lag (harness Ready seen −
// node agent Ready written), node-agent lag (beyond its configured delay)
// and dropped watch events. Each check is a results.SelfCheck under the
// standard names of package results, with a threshold and a verdict.
package selfcheck

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/metrics"

	"github.com/kdbench/kdbench/collectors/results"
)

// ThrottleThreshold is how much client-side waiting, in total, a repetition
// may see before its numbers count as the harness's rather than the system's.
const ThrottleThreshold = 10 * time.Millisecond

// hook is client-go's rate-limiter latency metric for this process. client-go
// takes one per process (metrics.Register works once), so it fans every
// observation out to the current subscribers: throttle windows and harness
// metrics.
type hook struct{}

var (
	registerOnce sync.Once
	subsMu       sync.Mutex
	// subs is replaced, never modified, so Observe reads it without a lock.
	subs atomic.Pointer[[]*subscriber]
)

type subscriber struct {
	f func(verb string, wait time.Duration)
}

// chained keeps a hook registered before ours working.
type chained struct{ prev, ours metrics.LatencyMetric }

func (c chained) Observe(ctx context.Context, verb string, u url.URL, d time.Duration) {
	c.prev.Observe(ctx, verb, u, d)
	c.ours.Observe(ctx, verb, u, d)
}

func (hook) Observe(_ context.Context, verb string, _ url.URL, d time.Duration) {
	if p := subs.Load(); p != nil {
		for _, s := range *p {
			s.f(verb, d)
		}
	}
}

// RegisterClientMetrics installs the rate-limiter hook into client-go. It is
// idempotent and called by StartThrottleWindow and OnRateLimiterWait; call
// it early in main too, before any client runs, so that no request goes
// unobserved. If another package registered client-go metrics first, the
// hook is chained after theirs.
func RegisterClientMetrics() {
	registerOnce.Do(func() {
		metrics.Register(metrics.RegisterOpts{RateLimiterLatency: hook{}})
		if metrics.RateLimiterLatency != (hook{}) {
			// Someone else's Register ran first and ours was ignored.
			metrics.RateLimiterLatency = chained{prev: metrics.RateLimiterLatency, ours: hook{}}
		}
	})
}

// subscribe adds f to the hook's fan-out and returns its removal.
func subscribe(f func(verb string, wait time.Duration)) (cancel func()) {
	RegisterClientMetrics()
	s := &subscriber{f: f}
	subsMu.Lock()
	defer subsMu.Unlock()
	var cur []*subscriber
	if p := subs.Load(); p != nil {
		cur = *p
	}
	next := append(slices.Clip(cur), s)
	subs.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			subsMu.Lock()
			defer subsMu.Unlock()
			next := slices.DeleteFunc(slices.Clone(*subs.Load()), func(x *subscriber) bool { return x == s })
			subs.Store(&next)
		})
	}
}

// OnRateLimiterWait calls f for every request any client-go client of this
// process makes, with the time its rate limiter held it (mostly ~0), until
// cancel is called. f must be quick and safe for concurrent use.
func OnRateLimiterWait(f func(verb string, wait time.Duration)) (cancel func()) {
	return subscribe(f)
}

// ThrottleWindow accumulates client-side rate-limiter waits from its start
// until Check. Windows may overlap; each sees every request in its span.
type ThrottleWindow struct {
	requests, waited  atomic.Int64 // waited: requests held ≥ 1 ms
	totalNs, maxNs    atomic.Int64
	stop              func()
	mu                sync.Mutex
	closed            bool
	total, max        time.Duration
	nRequests, nWaits int64
}

// StartThrottleWindow starts measuring (registering the hook if needed).
func StartThrottleWindow() *ThrottleWindow {
	w := &ThrottleWindow{}
	w.stop = subscribe(w.observe)
	return w
}

func (w *ThrottleWindow) observe(_ string, d time.Duration) {
	w.requests.Add(1)
	if d >= time.Millisecond {
		w.waited.Add(1)
	}
	w.totalNs.Add(int64(d))
	for {
		m := w.maxNs.Load()
		if int64(d) <= m || w.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Stop ends the window (idempotent) and returns its totals: the summed and
// longest waits and the number of requests.
func (w *ThrottleWindow) Stop() (total, longest time.Duration, requests int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.stop()
		w.closed = true
		w.total, w.max = time.Duration(w.totalNs.Load()), time.Duration(w.maxNs.Load())
		w.nRequests, w.nWaits = w.requests.Load(), w.waited.Load()
	}
	return w.total, w.max, int(w.nRequests)
}

// Check stops the window and reports its total wait as the repetition's
// CheckClientThrottle.
func (w *ThrottleWindow) Check(id results.RepID) results.SelfCheck {
	total, longest, n := w.Stop()
	return results.NewSelfCheck(id, results.CheckClientThrottle, "seconds", total.Seconds(), ThrottleThreshold.Seconds(),
		fmt.Sprintf("%d requests through the harness's client-go rate limiters, %d held ≥ 1 ms, longest %s; raise the harness client's QPS/burst if this warns",
			n, w.nWaits, longest))
}
