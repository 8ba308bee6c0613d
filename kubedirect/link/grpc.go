package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// The gRPC service is hand-written (no protoc): one bidirectional streaming
// method whose messages are raw wire frames, carried by a codec that passes
// bytes through untouched.
const (
	ServiceName = "kubedirect.v1.Link"
	methodName  = "Stream"
	fullMethod  = "/" + ServiceName + "/" + methodName
	codecName   = "kdwire"
)

// rawFrame is an encoded frame travelling through gRPC.
type rawFrame struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Name() string { return codecName }

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawFrame)
	if !ok {
		return nil, fmt.Errorf("link: codec cannot marshal %T", v)
	}
	return m.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawFrame)
	if !ok {
		return fmt.Errorf("link: codec cannot unmarshal into %T", v)
	}
	// gRPC may reuse data after Unmarshal returns.
	m.b = append(m.b[:0], data...)
	return nil
}

type linkService interface{}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*linkService)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    methodName,
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(*GRPCListener).serve(stream)
		},
	}},
	Metadata: "kubedirect/link/grpc.go",
}

// grpcStream is the part of grpc.ClientStream/ServerStream a Conn needs.
type grpcStream interface {
	SendMsg(m any) error
	RecvMsg(m any) error
}

type grpcConn struct {
	s      grpcStream
	closed chan struct{}
	once   sync.Once
	cancel func() // client: cancels the stream's context
}

func newGRPCConn(s grpcStream, cancel func()) *grpcConn {
	return &grpcConn{s: s, closed: make(chan struct{}), cancel: cancel}
}

func (c *grpcConn) Send(f *wire.Frame) (int, error) {
	select {
	case <-c.closed:
		return 0, ErrClosed
	default:
	}
	m := &rawFrame{b: wire.AppendFrame(nil, f)}
	if err := c.s.SendMsg(m); err != nil {
		return 0, err
	}
	return len(m.b), nil
}

func (c *grpcConn) Recv() (*wire.Frame, int, int64, error) {
	var m rawFrame
	if err := c.s.RecvMsg(&m); err != nil {
		select {
		case <-c.closed:
			return nil, 0, 0, ErrClosed
		default:
		}
		return nil, 0, 0, err
	}
	now := time.Now().UnixNano()
	f := new(wire.Frame)
	if err := wire.DecodeFrame(m.b, f); err != nil {
		return nil, len(m.b), 0, err
	}
	return f, len(m.b), now, nil
}

func (c *grpcConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		if c.cancel != nil {
			c.cancel()
		}
	})
	return nil
}

// GRPCListener serves the link service and hands each incoming stream to
// Accept. A stream lives until its Conn is closed or the client goes away.
type GRPCListener struct {
	srv   *grpc.Server
	conns chan *grpcConn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

// ListenGRPC serves the link service on lis (e.g. net.Listen("tcp", "127.0.0.1:0")).
func ListenGRPC(lis net.Listener, opts ...grpc.ServerOption) *GRPCListener {
	opts = append([]grpc.ServerOption{grpc.ForceServerCodec(rawCodec{})}, opts...)
	l := &GRPCListener{srv: grpc.NewServer(opts...), conns: make(chan *grpcConn), done: make(chan struct{}), addr: lis.Addr()}
	l.srv.RegisterService(&serviceDesc, l)
	go func() { _ = l.srv.Serve(lis) }()
	return l
}

// Addr is the address the listener serves on.
func (l *GRPCListener) Addr() net.Addr { return l.addr }

func (l *GRPCListener) serve(stream grpc.ServerStream) error {
	c := newGRPCConn(stream, nil)
	select {
	case l.conns <- c:
	case <-l.done:
		return ErrClosed
	case <-stream.Context().Done():
		return stream.Context().Err()
	}
	select {
	case <-c.closed:
		return nil
	case <-stream.Context().Done():
		c.Close()
		return stream.Context().Err()
	case <-l.done:
		c.Close()
		return ErrClosed
	}
}

// Accept implements Listener.
func (l *GRPCListener) Accept(ctx context.Context) (Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the server and ends every stream.
func (l *GRPCListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.srv.Stop()
	})
	return nil
}

// GRPCDialer opens link streams, sharing one client connection per address.
type GRPCDialer struct {
	opts []grpc.DialOption
	// creds, if set, are the transport credentials for one address (mutual
	// TLS expects a different peer at each).
	creds func(addr string) (credentials.TransportCredentials, error)
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// NewGRPCDialer returns a dialer; without options it uses plaintext (loopback).
func NewGRPCDialer(opts ...grpc.DialOption) *GRPCDialer {
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	return newGRPCDialer(opts, nil)
}

func newGRPCDialer(opts []grpc.DialOption, creds func(string) (credentials.TransportCredentials, error)) *GRPCDialer {
	opts = append(opts, grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	return &GRPCDialer{opts: opts, creds: creds, conns: make(map[string]*grpc.ClientConn)}
}

// Dial implements Dialer. The stream outlives ctx; Close ends it.
func (d *GRPCDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	d.mu.Lock()
	cc := d.conns[addr]
	if cc == nil {
		opts := d.opts
		if d.creds != nil {
			tc, err := d.creds(addr)
			if err != nil {
				d.mu.Unlock()
				return nil, err
			}
			opts = append(slices.Clip(opts), grpc.WithTransportCredentials(tc))
		}
		var err error
		cc, err = grpc.NewClient(addr, opts...)
		if err != nil {
			d.mu.Unlock()
			return nil, fmt.Errorf("link: dial %s: %w", addr, err)
		}
		d.conns[addr] = cc
	}
	d.mu.Unlock()
	sctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	s, err := cc.NewStream(sctx, &serviceDesc.Streams[0], fullMethod, grpc.WaitForReady(false))
	stop()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("link: open stream to %s: %w", addr, err)
	}
	return newGRPCConn(s, cancel), nil
}

// Close closes every client connection.
func (d *GRPCDialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for a, cc := range d.conns {
		errs = append(errs, cc.Close())
		delete(d.conns, a)
	}
	return errors.Join(errs...)
}
