package replay

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kdbench/kdbench/baselines/faas/faasrpc"
	"github.com/kdbench/kdbench/baselines/faas/gateway"
)

// TestGRPCFrontEnd: each invocation is one faas.Executor/Execute call with
// its function's :authority and the loader's request; the record is the
// loader's, and failures get the gateway's reasons.
func TestGRPCFrontEnd(t *testing.T) {
	inv := gateway.Invocation{Function: "fn0", Instance: "fn0", InvocationID: "min1.inv3", Phase: 2, Runtime: 20 * time.Millisecond, MemoryMiB: 128}
	host := func(fn string) string { return fn + ".kd-trace.10.96.0.7.sslip.io" }
	for _, tc := range []struct {
		name    string
		exec    faasrpc.Executor // nil: nothing listens
		timeout time.Duration
		reason  string
		check   func(t *testing.T, res gateway.Result)
	}{
		{"completed", func(ctx context.Context, req faasrpc.Request) (faasrpc.Reply, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			if md.Get(":authority")[0] != "fn0.kd-trace.10.96.0.7.sslip.io" || req != (faasrpc.Request{Message: "nothing", RuntimeMs: 20, MemoryMiB: 128}) {
				return faasrpc.Reply{}, status.Errorf(codes.InvalidArgument, "got %v %+v", md, req)
			}
			return faasrpc.Reply{DurationUs: 20_500, MemoryKiB: 128 * 1024}, nil
		}, 0, "", func(t *testing.T, res gateway.Result) {
			r := res.Record
			require.Equal(t, "fn0", r.Instance)
			require.Equal(t, "min1.inv3", r.InvocationID)
			require.Equal(t, 2, r.Phase)
			require.EqualValues(t, 20_000, r.RequestedDurationUs)
			require.EqualValues(t, 20_500, r.ActualDurationUs)
			require.EqualValues(t, 128, r.ActualMemoryUsageMiB)
			require.False(t, r.Failed())
			require.Equal(t, max(0, r.ResponseTimeUs-r.ActualDurationUs), r.TimeToGetResponseUs)
		}},
		{"memory allocation failed", func(context.Context, faasrpc.Request) (faasrpc.Reply, error) {
			return faasrpc.Reply{Message: "FAILURE - mem_alloc", DurationUs: 5}, nil
		}, 0, "", func(t *testing.T, res gateway.Result) {
			require.True(t, res.Record.MemoryAllocationTimeout)
			require.Zero(t, res.Record.ActualMemoryUsageMiB)
		}},
		{"no capacity in time", func(context.Context, faasrpc.Request) (faasrpc.Reply, error) {
			return faasrpc.Reply{}, status.Error(codes.Unavailable, "activator: request timeout")
		}, 0, gateway.ReasonDispatchTimeout, nil},
		{"unknown host", func(context.Context, faasrpc.Request) (faasrpc.Reply, error) {
			return faasrpc.Reply{}, status.Error(codes.Unimplemented, "404")
		}, 0, gateway.ReasonUnknownFunction, nil},
		{"function timeout", func(ctx context.Context, _ faasrpc.Request) (faasrpc.Reply, error) {
			<-ctx.Done()
			return faasrpc.Reply{}, ctx.Err()
		}, 50 * time.Millisecond, gateway.ReasonClientTimeout, nil},
		{"nothing listens", nil, 0, gateway.ReasonInstanceError, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			if tc.exec != nil {
				s := grpc.NewServer()
				faasrpc.Register(s, tc.exec)
				go func() { _ = s.Serve(l) }()
				defer s.Stop()
			} else {
				require.NoError(t, l.Close())
			}
			f := &GRPCFrontEnd{Target: l.Addr().String(), Authority: host, Timeout: tc.timeout}
			res := f.Invoke(context.Background(), inv)
			require.Equal(t, tc.reason, res.Reason, "%v", res.Err)
			if tc.reason != "" {
				require.True(t, res.Record.ConnectionTimeout && res.Record.FunctionTimeout, "the loader marks a failed call as both")
				require.Contains(t, res.Err.Error(), "fn0 min1.inv3")
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}
