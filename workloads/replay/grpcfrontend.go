package replay

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kdbench/kdbench/baselines/faas/faasrpc"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/workloads/trace"
)

// GRPCFrontEnd is the loader's gRPC invoker (pkg/driver/clients/
// grpc_client.go) aimed at an ingress: each invocation dials Target with
// its function's :authority — the Knative Service's host, by which
// Kourier routes — and makes one faasrpc call, as the loader does against
// the function image the artifact runs on real kubelets. Like the loader
// it opens a connection per invocation and bounds each call by the
// function timeout.
type GRPCFrontEnd struct {
	// Target is the ingress's address, host:port (Kourier's gateway).
	Target string
	// Authority is the :authority of a function's calls.
	Authority func(function string) string
	// Timeout bounds each call (0: DefaultFunctionTimeout, negative: none).
	Timeout time.Duration
}

var _ FrontEnd = (*GRPCFrontEnd)(nil)

// Invoke sends one invocation and returns its record, completed or failed
// with a gateway reason.
func (f *GRPCFrontEnd) Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result {
	start := time.Now()
	res := gateway.Result{Record: trace.Record{Phase: inv.Phase, Instance: inv.Instance, InvocationID: inv.InvocationID,
		StartTime: start.UnixMicro(), RequestedDurationUs: inv.Runtime.Milliseconds() * 1000}}
	r := &res.Record
	conn, err := grpc.NewClient(f.Target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(f.Authority(inv.Function)))
	r.GRPCConnEstablishUs = time.Since(start).Microseconds()
	if err != nil {
		r.ResponseTimeUs, r.ConnectionTimeout = time.Since(start).Microseconds(), true
		res.Reason, res.Err = gateway.ReasonInstanceError, fmt.Errorf("%s %s: dialling %s: %w", inv.Function, inv.InvocationID, f.Target, err)
		return res
	}
	defer conn.Close()
	callCtx := ctx
	if d := f.timeout(); d > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	rep, err := faasrpc.Execute(callCtx, conn, faasrpc.Request{Message: "nothing",
		RuntimeMs: uint32(inv.Runtime.Milliseconds()), MemoryMiB: uint32(inv.MemoryMiB)})
	r.ResponseTimeUs = time.Since(start).Microseconds()
	if err != nil {
		// As the loader: a failed call is both timeouts.
		r.ConnectionTimeout, r.FunctionTimeout = true, true
		res.Reason = grpcReason(ctx, callCtx, err)
		if res.Reason == gateway.ReasonClientTimeout {
			err = fmt.Errorf("no reply within the function timeout %s: %w", f.timeout(), err)
		}
		res.Err = fmt.Errorf("%s %s via %s (authority %s): %w", inv.Function, inv.InvocationID, f.Target, f.Authority(inv.Function), err)
		return res
	}
	r.ActualDurationUs, r.UserCodeExecutionUs = int64(rep.DurationUs), int64(rep.DurationUs)
	if strings.HasPrefix(rep.Message, "FAILURE - mem_alloc") {
		r.MemoryAllocationTimeout = true
	} else {
		r.ActualMemoryUsageMiB = int64(rep.MemoryKiB) / 1024
	}
	r.TimeToGetResponseUs = max(0, r.ResponseTimeUs-r.ActualDurationUs)
	return res
}

func (f *GRPCFrontEnd) timeout() time.Duration {
	if f.Timeout == 0 {
		return DefaultFunctionTimeout
	}
	return f.Timeout
}

// grpcReason maps a failed call to the gateway's reasons, as httpReason
// does for HTTP: Knative's 503 and 504 (no capacity in time) arrive as
// Unavailable (gRPC's mapping of HTTP 502–504), its 404 as Unimplemented
// or NotFound; DeadlineExceeded is the call's own deadline where it had
// one;
// a transport that never connected is an instance error, as an
// unreachable HTTP front-end's.
func grpcReason(ctx, callCtx context.Context, err error) string {
	st := status.Convert(err)
	_, bounded := callCtx.Deadline()
	switch {
	case ctx.Err() != nil:
		return gateway.ReasonCanceled
	case callCtx.Err() != nil, bounded && st.Code() == codes.DeadlineExceeded:
		// The server may answer DeadlineExceeded for the deadline the
		// call carried (grpc-timeout) just before the client's own timer
		// fires.
		return gateway.ReasonClientTimeout
	}
	switch st.Code() {
	case codes.Unavailable:
		if strings.HasPrefix(st.Message(), "connection error") {
			return gateway.ReasonInstanceError // no ingress at Target
		}
		return gateway.ReasonDispatchTimeout
	case codes.DeadlineExceeded:
		return gateway.ReasonDispatchTimeout
	case codes.Unimplemented, codes.NotFound:
		return gateway.ReasonUnknownFunction
	default:
		return gateway.ReasonInstanceError
	}
}

// Stop has nothing to release: each call closes its own connection.
func (f *GRPCFrontEnd) Stop() {}
