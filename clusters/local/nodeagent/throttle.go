package nodeagent

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Throttle records how long one request waited in the client's rate
// limiter, so that a pod's timings tell client-side throttling apart from
// the API server's time. Attach it to the request's context with
// WithThrottle; RESTConfig's limiter fills it in.
type Throttle struct{ waited atomic.Int64 }

// Waited is the total the requests under the throttle's context waited.
func (t *Throttle) Waited() time.Duration { return time.Duration(t.waited.Load()) }

type throttleKey struct{}

// WithThrottle returns ctx carrying t.
func WithThrottle(ctx context.Context, t *Throttle) context.Context {
	return context.WithValue(ctx, throttleKey{}, t)
}

// timedLimiter is the agent's client rate limiter, recording each wait in
// the Throttle of the request's context (client-go passes it to Wait).
type timedLimiter struct{ flowcontrol.RateLimiter }

func (l timedLimiter) Wait(ctx context.Context) error {
	start := time.Now()
	err := l.RateLimiter.Wait(ctx)
	if t, ok := ctx.Value(throttleKey{}).(*Throttle); ok {
		t.waited.Add(int64(time.Since(start)))
	}
	return err
}

// timedRateLimiter is the token bucket client-go would build for qps and
// burst, timed.
func timedRateLimiter(rc *rest.Config) flowcontrol.RateLimiter {
	return timedLimiter{flowcontrol.NewTokenBucketRateLimiter(rc.QPS, rc.Burst)}
}

// InFlight counts requests of one kind in flight.
type InFlight struct{ n atomic.Int64 }

// Start counts one more request and returns how many are in flight with it.
func (f *InFlight) Start() int { return int(f.n.Add(1)) }

// Done counts one request finished.
func (f *InFlight) Done() { f.n.Add(-1) }
