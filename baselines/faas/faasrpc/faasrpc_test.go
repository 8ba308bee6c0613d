package faasrpc

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The bytes protoc's code for faas.proto writes: field 1 "nothing", field 2
// 1500, field 3 128, each tag then value (proto3, varints).
func TestWireFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *dynamicpb.Message
		s    string
		a, b uint32
		want []byte
	}{
		{"request", dynamicpb.NewMessage(requestDesc), "nothing", 1500, 128,
			append(append([]byte{0x0a, 7}, "nothing"...), 0x10, 0xdc, 0x0b, 0x18, 0x80, 0x01)},
		{"reply", dynamicpb.NewMessage(replyDesc), "", 1, 0, []byte{0x10, 0x01}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setFields(tc.m, tc.s, tc.a, tc.b)
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tc.m)
			require.NoError(t, err)
			require.Equal(t, tc.want, b)
		})
	}
}

func serve(t *testing.T, exec Executor) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer()
	Register(s, exec)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

func TestExecute(t *testing.T) {
	var gotAuthority string
	addr := serve(t, func(ctx context.Context, req Request) (Reply, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		gotAuthority = md.Get(":authority")[0]
		if req.RuntimeMs == 0 {
			return Reply{}, status.Error(codes.InvalidArgument, "no runtime")
		}
		return Reply{Message: "OK", DurationUs: req.RuntimeMs * 1000, MemoryKiB: req.MemoryMiB * 1024}, nil
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("fn1.ns.example.com"))
	require.NoError(t, err)
	defer conn.Close()

	rep, err := Execute(context.Background(), conn, Request{Message: "nothing", RuntimeMs: 25, MemoryMiB: 3})
	require.NoError(t, err)
	require.Equal(t, Reply{Message: "OK", DurationUs: 25000, MemoryKiB: 3072}, rep)
	require.Equal(t, "fn1.ns.example.com", gotAuthority, "Knative's ingress routes by the :authority")

	_, err = Execute(context.Background(), conn, Request{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}
