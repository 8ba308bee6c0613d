package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/baselines/faas/sandbox"
	"github.com/kdbench/kdbench/workloads/trace"
)

// HTTPFrontEnd is the loader's way into a FaaS platform it does not run
// itself (real Knative): each invocation is one HTTP request to URL — the
// activator, or an ingress — routed by the headers Headers gives its
// function, carrying the sandbox's invocation (sandbox.Request on
// sandbox.InvokePath) through to the function's pod. The loader-format
// record is timed here, at the client, as the loader times it.
type HTTPFrontEnd struct {
	// URL is the platform's entry point, e.g. http://<activator>:8012.
	URL string
	// Headers route one function's invocations: ActivatorHeaders, or
	// IngressHeaders (a "Host" entry sets the request's Host).
	Headers func(function string) http.Header
	// Client sends the requests; nil is a shared client of this package's.
	// Its own Timeout, if any, applies too.
	Client *http.Client
	// Timeout bounds each invocation from send to reply, as the loader's
	// GRPCFunctionTimeoutSeconds does (which it also applies to HTTP); zero
	// is DefaultFunctionTimeout, negative none. Without it a platform that
	// holds requests (an activator waiting for capacity that never comes)
	// stalls the replay until its end and holds a connection per request.
	Timeout time.Duration
}

// DefaultFunctionTimeout is the artifact's loader setting
// (experiments/trace/config/loader.json: GRPCFunctionTimeoutSeconds 180).
const DefaultFunctionTimeout = 180 * time.Second

// DefaultConnectTimeout is the artifact's loader's GRPCConnectionTimeoutSeconds.
const DefaultConnectTimeout = 15 * time.Second

// NewHTTPClient is a client for HTTPFrontEnd: many idle connections per
// host (one platform entry point takes every request) and the loader's
// connect timeout.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: DefaultConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1000, IdleConnTimeout: 90 * time.Second,
	}}
}

var _ FrontEnd = (*HTTPFrontEnd)(nil)

// ActivatorHeaders route to Knative's activator, which picks a pod of
// revision(function) in namespace (its Knative-Serving-* headers).
func ActivatorHeaders(namespace string, revision func(function string) string) func(string) http.Header {
	return func(fn string) http.Header {
		return http.Header{"Knative-Serving-Namespace": {namespace}, "Knative-Serving-Revision": {revision(fn)}}
	}
}

// IngressHeaders route through an ingress by the function's host name
// (the ksvc's URL host).
func IngressHeaders(host func(function string) string) func(string) http.Header {
	return func(fn string) http.Header { return http.Header{"Host": {host(fn)}} }
}

var defaultHTTPClient = NewHTTPClient()

// Invoke sends one invocation and returns its record; every call returns a
// Result, completed or failed with a gateway reason.
func (f *HTTPFrontEnd) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	start := time.Now()
	res := gateway.Result{Record: trace.Record{Phase: inv.Phase, Instance: inv.Instance, InvocationID: inv.InvocationID,
		StartTime: start.UnixMicro(), RequestedDurationUs: inv.Runtime.Microseconds()}}
	callCtx := ctx
	if d := f.timeout(); d > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	rep, status, err := f.call(callCtx, inv)
	r := &res.Record
	r.ResponseTimeUs = time.Since(start).Microseconds()
	if err != nil {
		res.Reason = httpReason(ctx, status)
		if ctx.Err() == nil && callCtx.Err() != nil {
			res.Reason = gateway.ReasonClientTimeout
			err = fmt.Errorf("no reply within the function timeout %s: %w", f.timeout(), err)
		}
		res.Err = fmt.Errorf("%s %s via %s: %w", inv.Function, inv.InvocationID, f.URL, err)
		// As the loader: no response is a connection timeout, a failed one
		// a function timeout.
		r.ConnectionTimeout, r.FunctionTimeout = status == 0, status != 0
		return res
	}
	res.Instance = rep.Pod
	r.ActualDurationUs, r.UserCodeExecutionUs, r.ActualMemoryUsageMiB = rep.DurationUs, rep.DurationUs, rep.MemoryMiB
	r.TimeToGetResponseUs = max(0, r.ResponseTimeUs-rep.DurationUs)
	return res
}

func (f *HTTPFrontEnd) timeout() time.Duration {
	if f.Timeout == 0 {
		return DefaultFunctionTimeout
	}
	return f.Timeout
}

func (f *HTTPFrontEnd) call(ctx context.Context, inv gateway.Invocation) (sandbox.Response, int, error) {
	var rep sandbox.Response
	body, err := json.Marshal(sandbox.Request{ID: inv.InvocationID, RuntimeUs: inv.Runtime.Microseconds(), MemoryMiB: inv.MemoryMiB})
	if err != nil {
		return rep, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(f.URL, "/")+sandbox.InvokePath, bytes.NewReader(body))
	if err != nil {
		return rep, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if f.Headers != nil {
		for k, v := range f.Headers(inv.Function) {
			if http.CanonicalHeaderKey(k) == "Host" {
				req.Host = v[0] // Go sends Host from here, never from Header
				continue
			}
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	c := f.Client
	if c == nil {
		c = defaultHTTPClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return rep, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return rep, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return rep, resp.StatusCode, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, resp.StatusCode, fmt.Errorf("reply %q: %w", b, err)
	}
	return rep, resp.StatusCode, nil
}

// httpReason maps a failed request to the gateway's reasons, so the
// replay's accounting reads the same for every system: 503 and 504 are the
// activator's and the queue-proxy's "no capacity in time", 404 a revision
// it does not know.
func httpReason(ctx context.Context, status int) string {
	switch {
	case ctx.Err() != nil:
		return gateway.ReasonCanceled
	case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return gateway.ReasonDispatchTimeout
	case status == http.StatusNotFound:
		return gateway.ReasonUnknownFunction
	default:
		return gateway.ReasonInstanceError
	}
}

// Stop releases idle connections; the platform keeps its own state.
func (f *HTTPFrontEnd) Stop() {
	if f.Client != nil {
		f.Client.CloseIdleConnections()
	}
}
