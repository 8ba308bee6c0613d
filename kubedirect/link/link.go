// Package link carries frames between two hops: a bidirectional, ordered,
// reliable-until-broken stream (one stream = at most one epoch). Two
// transports implement it: gRPC bidirectional streams for processes, and
// in-memory pipes for tests. Both encode frames, so the codec and byte counts
// are exercised either way.
package link

import (
	"context"
	"errors"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// ErrClosed is returned by operations on a closed stream or listener.
var ErrClosed = errors.New("link: closed")

// Conn is one stream between two hops. Send may be called from one goroutine
// and Recv from another; Close may be called from any goroutine, any number of
// times, and makes pending and later Send/Recv fail.
type Conn interface {
	// Send encodes and sends f, returning the encoded size.
	Send(f *wire.Frame) (int, error)
	// Recv blocks for the next frame and returns it with its encoded size and
	// the local receive time (ns since the Unix epoch).
	Recv() (f *wire.Frame, size int, recvNs int64, err error)
	Close() error
}

// Listener accepts streams opened by upstream hops.
type Listener interface {
	Accept(ctx context.Context) (Conn, error)
	Close() error
}

// Dialer opens streams to downstream hops.
type Dialer interface {
	Dial(ctx context.Context, addr string) (Conn, error)
}
