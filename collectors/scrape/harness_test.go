package scrape

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/metrics"
)

func TestHarnessMetrics(t *testing.T) {
	h := Handler()
	observe := PodReadyObserver("k8s+")
	observe("p0", 150*time.Millisecond)
	observe("p1", 250*time.Millisecond)
	metrics.RateLimiterLatency.Observe(context.Background(), "PATCH", url.URL{}, 3*time.Millisecond)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	fams, err := new(expfmt.TextParser).TextToMetricFamilies(rec.Body)
	require.NoError(t, err)

	ready := fams["kdbench_pods_ready_total"]
	require.NotNil(t, ready)
	require.Equal(t, "k8s+", ready.Metric[0].Label[0].GetValue())
	require.Equal(t, 2.0, ready.Metric[0].Counter.GetValue())
	e2e := fams["kdbench_pod_e2e_seconds"].Metric[0].Histogram
	require.Equal(t, uint64(2), e2e.GetSampleCount())
	require.InDelta(t, 0.4, e2e.GetSampleSum(), 1e-9)
	wait := fams["kdbench_client_rate_limiter_wait_seconds"]
	require.NotNil(t, wait, "client-go's rate limiter feeds the harness metrics")
	require.Equal(t, "PATCH", wait.Metric[0].Label[0].GetValue())
	require.Contains(t, fams, "go_goroutines")
	for name := range fams {
		ok := false
		for _, prefix := range []string{"kdbench_", "go_", "process_", "promhttp_"} {
			ok = ok || strings.HasPrefix(name, prefix)
		}
		require.True(t, ok, "unexpected metric %s", name)
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stop := ServeListener(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "# TYPE kdbench_pods_ready_total counter")
	stop()
	stop() // idempotent
	_, err = http.Get("http://" + ln.Addr().String() + "/metrics")
	require.Error(t, err, "stopped")

	_, err = Serve("256.0.0.1:1")
	require.ErrorContains(t, err, "--metrics-addr 256.0.0.1:1")
	stop, err = Serve("127.0.0.1:0")
	require.NoError(t, err)
	stop()
}
