package selfcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/metrics"

	"github.com/kdbench/kdbench/collectors/results"
)

func TestThrottleWindows(t *testing.T) {
	observe := func(d time.Duration) { metrics.RateLimiterLatency.Observe(context.Background(), "GET", url.URL{}, d) }
	first := StartThrottleWindow()
	observe(30 * time.Millisecond)
	second := StartThrottleWindow() // overlapping windows each see their span
	observe(2 * time.Millisecond)
	observe(100 * time.Microsecond)

	c := first.Check(id)
	require.Equal(t, results.CheckClientThrottle, c.Name)
	require.InDelta(t, 0.0321, c.Value, 1e-9)
	require.Equal(t, results.VerdictWarn, c.Verdict)
	require.Contains(t, c.Detail, "3 requests through the harness's client-go rate limiters, 2 held ≥ 1 ms, longest 30ms")

	observe(time.Millisecond) // after first's Check: second only
	total, longest, n := second.Stop()
	require.Equal(t, 3100*time.Microsecond, total)
	require.Equal(t, 2*time.Millisecond, longest)
	require.Equal(t, 3, n)
	observe(time.Hour) // a stopped window no longer counts
	require.Equal(t, results.VerdictOK, second.Check(id).Verdict)
	total, _, _ = second.Stop()
	require.Equal(t, 3100*time.Microsecond, total, "Stop is idempotent")
}

func TestOnRateLimiterWait(t *testing.T) {
	var got atomic.Int64
	cancel := OnRateLimiterWait(func(verb string, d time.Duration) {
		require.Equal(t, "PUT", verb)
		got.Add(int64(d))
	})
	metrics.RateLimiterLatency.Observe(context.Background(), "PUT", url.URL{}, time.Second)
	cancel()
	cancel()
	metrics.RateLimiterLatency.Observe(context.Background(), "PUT", url.URL{}, time.Second)
	require.Equal(t, int64(time.Second), got.Load())
}

// TestThrottleSeesARealClient: a client-go client limited to 20 QPS with a
// burst of 1 must hold its second and third requests ~50 ms each, which the
// window reports (a lower bound the token bucket guarantees, not a timing).
func TestThrottleSeesARealClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"32","gitVersion":"v1.32.13"}`))
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, QPS: 20, Burst: 1})
	require.NoError(t, err)
	w := StartThrottleWindow()
	for range 3 {
		_, err := cs.Discovery().ServerVersion()
		require.NoError(t, err)
	}
	c := w.Check(id)
	require.GreaterOrEqual(t, c.Value, ThrottleThreshold.Seconds())
	require.Equal(t, results.VerdictWarn, c.Verdict)
	require.Contains(t, c.Detail, "3 requests")
}

// recorder is a LatencyMetric that remembers what it saw.
type recorder struct{ got *[]time.Duration }

func (r recorder) Observe(_ context.Context, _ string, _ url.URL, d time.Duration) {
	*r.got = append(*r.got, d)
}

// TestChainedHook: when another package registered client-go's metrics
// first, its metric keeps getting every observation next to ours.
func TestChainedHook(t *testing.T) {
	var theirs, ours []time.Duration
	c := chained{prev: recorder{&theirs}, ours: recorder{&ours}}
	c.Observe(context.Background(), "GET", url.URL{}, time.Millisecond)
	require.Equal(t, []time.Duration{time.Millisecond}, theirs)
	require.Equal(t, []time.Duration{time.Millisecond}, ours)
}
