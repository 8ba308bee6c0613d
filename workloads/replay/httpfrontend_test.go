package replay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/baselines/faas/sandbox"
)

// TestHTTPFrontEnd: each invocation is one request to the activator (or an
// ingress) with its function's routing headers and the sandbox's request;
// the record is the loader's, and failures get the gateway's reasons.
func TestHTTPFrontEnd(t *testing.T) {
	revision := func(fn string) string { return fn + "-00001" }
	inv := gateway.Invocation{Function: "fn0", Instance: "fn0", InvocationID: "min1.inv3", Phase: 2, Runtime: 20 * time.Millisecond, MemoryMiB: 128}
	for _, tc := range []struct {
		name    string
		headers func(string) http.Header
		// activator checks the request and writes the reply.
		activator func(t *testing.T, w http.ResponseWriter, r *http.Request)
		reason    string
		connTO    bool
	}{
		{"activator", ActivatorHeaders("kd-trace", revision), func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "kd-trace", r.Header.Get("Knative-Serving-Namespace"))
			require.Equal(t, "fn0-00001", r.Header.Get("Knative-Serving-Revision"))
			require.Equal(t, http.MethodPost, r.Method)
			require.Equal(t, sandbox.InvokePath, r.URL.Path)
			var req sandbox.Request
			require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
			require.Equal(t, sandbox.Request{ID: "min1.inv3", RuntimeUs: 20_000, MemoryMiB: 128}, req)
			_ = json.NewEncoder(w).Encode(sandbox.Response{DurationUs: 20_500, MemoryMiB: 128, Pod: "kd-trace/fn0-00001-deployment-abc"})
		}, "", false},
		{"ingress", IngressHeaders(func(fn string) string { return fn + ".kd-trace.example.com" }), func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "fn0.kd-trace.example.com", r.Host)
			require.Empty(t, r.Header.Get("Knative-Serving-Revision"))
			_ = json.NewEncoder(w).Encode(sandbox.Response{DurationUs: 20_500, MemoryMiB: 128, Pod: "kd-trace/fn0-00001-deployment-abc"})
		}, "", false},
		{"no capacity in time", ActivatorHeaders("kd-trace", revision), func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "activator request timeout", http.StatusServiceUnavailable)
		}, gateway.ReasonDispatchTimeout, false},
		{"unknown revision", ActivatorHeaders("kd-trace", revision), func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
			http.NotFound(w, nil)
		}, gateway.ReasonUnknownFunction, false},
		{"function failed", ActivatorHeaders("kd-trace", revision), func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusBadGateway)
		}, gateway.ReasonInstanceError, false},
		{"unreachable", ActivatorHeaders("kd-trace", revision), nil, gateway.ReasonInstanceError, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.activator(t, w, r) }))
			if tc.activator == nil {
				srv.Close() // nothing listens any more
			} else {
				defer srv.Close()
			}
			fe := &HTTPFrontEnd{URL: srv.URL, Headers: tc.headers}
			defer fe.Stop()
			res := fe.Invoke(context.Background(), inv)
			r := res.Record
			require.Equal(t, tc.reason, res.Reason, "%v", res.Err)
			require.Equal(t, 2, r.Phase)
			require.Equal(t, "fn0", r.Instance)
			require.Equal(t, "min1.inv3", r.InvocationID)
			require.EqualValues(t, 20_000, r.RequestedDurationUs)
			require.Positive(t, r.ResponseTimeUs)
			require.Equal(t, tc.reason != "", r.Failed())
			require.Equal(t, tc.connTO, r.ConnectionTimeout)
			if tc.reason == "" {
				require.EqualValues(t, 20_500, r.ActualDurationUs)
				require.EqualValues(t, 20_500, r.UserCodeExecutionUs)
				require.EqualValues(t, 128, r.ActualMemoryUsageMiB)
				require.Equal(t, "kd-trace/fn0-00001-deployment-abc", res.Instance)
				require.Equal(t, max(0, r.ResponseTimeUs-20_500), r.TimeToGetResponseUs)
			} else {
				require.Error(t, res.Err)
				require.Contains(t, res.Err.Error(), "fn0 min1.inv3 via "+srv.URL)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := (&HTTPFrontEnd{URL: "http://127.0.0.1:1"}).Invoke(ctx, inv)
	require.Equal(t, gateway.ReasonCanceled, res.Reason)
}

// TestHTTPFrontEndFunctionTimeout: a platform that holds the request (an
// activator waiting for capacity) fails the invocation at the client's own
// deadline, as the loader's function timeout does, not at the replay's end.
func TestHTTPFrontEndFunctionTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	fe := &HTTPFrontEnd{URL: srv.URL, Timeout: 50 * time.Millisecond}
	defer fe.Stop()
	inv := gateway.Invocation{Function: "fn0", InvocationID: "min0.inv0", Runtime: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := fe.Invoke(ctx, inv)
	require.Equal(t, gateway.ReasonClientTimeout, res.Reason, "%v", res.Err)
	require.ErrorContains(t, res.Err, "function timeout 50ms")
	require.True(t, res.Record.ConnectionTimeout, "no reply: the loader's connectionTimeout")
	require.NoError(t, ctx.Err(), "failed by its own deadline, not the replay's")

	require.Equal(t, DefaultFunctionTimeout, (&HTTPFrontEnd{}).timeout())
	require.Equal(t, time.Duration(-1), (&HTTPFrontEnd{Timeout: -1}).timeout(), "negative: none")
}

// TestHTTPFrontEndThroughQueueProxy: an activator stand-in that forwards by
// the revision header reaches a Knative pod's queue-proxy at its IP, and
// the invocation runs in the pod's sandbox.
func TestHTTPFrontEndThroughQueueProxy(t *testing.T) {
	pool := sandbox.NewPool()
	defer pool.Close()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kd-trace", Name: "fn0-00001-deployment-abc",
		Labels: map[string]string{"serving.knative.dev/revision": "fn0-00001"}}}
	podIP := netip.MustParseAddr("127.42.9.1")
	require.NoError(t, pool.Start(pod, podIP))
	pods := map[string]string{"fn0-00001": "http://" + podIP.String() + ":8012"}
	activator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := pods[r.Header.Get("Knative-Serving-Revision")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		u, _ := url.Parse(target)
		r.Header.Set("K-Proxy-Request", "activator")
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	defer activator.Close()

	fe := &HTTPFrontEnd{URL: activator.URL, Headers: ActivatorHeaders("kd-trace", func(fn string) string { return fn + "-00001" })}
	res := fe.Invoke(context.Background(), gateway.Invocation{Function: "fn0", Instance: "fn0", InvocationID: "min0.inv0", Phase: 1, Runtime: 10 * time.Millisecond})
	require.Empty(t, res.Reason, "%v", res.Err)
	require.Equal(t, "kd-trace/fn0-00001-deployment-abc", res.Instance)
	require.GreaterOrEqual(t, res.Record.ActualDurationUs, int64(10_000))
	res = fe.Invoke(context.Background(), gateway.Invocation{Function: "fn1", Instance: "fn1", InvocationID: "min0.inv0", Phase: 1})
	require.Equal(t, gateway.ReasonUnknownFunction, res.Reason)
}
