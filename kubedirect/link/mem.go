package link

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Pipe returns the two ends of an in-memory stream. Frames are encoded on Send
// and decoded on Recv, like on a real link.
func Pipe() (Conn, Conn) {
	done := make(chan struct{})
	ab := make(chan []byte, 1024)
	ba := make(chan []byte, 1024)
	once := &sync.Once{}
	return &memConn{in: ba, out: ab, done: done, once: once}, &memConn{in: ab, out: ba, done: done, once: once}
}

type memConn struct {
	in   <-chan []byte
	out  chan<- []byte
	done chan struct{}
	once *sync.Once
}

func (c *memConn) Send(f *wire.Frame) (int, error) {
	b := wire.AppendFrame(nil, f)
	select {
	case <-c.done:
		return 0, ErrClosed
	default:
	}
	select {
	case c.out <- b:
		return len(b), nil
	case <-c.done:
		return 0, ErrClosed
	}
}

func (c *memConn) Recv() (*wire.Frame, int, int64, error) {
	select {
	case b := <-c.in:
		f := new(wire.Frame)
		if err := wire.DecodeFrame(b, f); err != nil {
			return nil, len(b), 0, err
		}
		return f, len(b), time.Now().UnixNano(), nil
	case <-c.done:
		return nil, 0, 0, ErrClosed
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// MemNetwork is an in-memory network of named listeners.
type MemNetwork struct {
	mu        sync.Mutex
	listeners map[string]*memListener
}

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork { return &MemNetwork{listeners: make(map[string]*memListener)} }

// Listen registers a listener at addr.
func (n *MemNetwork) Listen(addr string) (Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners[addr] != nil {
		return nil, fmt.Errorf("link: mem address %q in use", addr)
	}
	l := &memListener{net: n, addr: addr, conns: make(chan Conn, 16), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

// Dial implements Dialer.
func (n *MemNetwork) Dial(ctx context.Context, addr string) (Conn, error) {
	n.mu.Lock()
	l := n.listeners[addr]
	n.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("link: mem dial %q: connection refused", addr)
	}
	a, b := Pipe()
	select {
	case l.conns <- b:
		return a, nil
	case <-l.done:
		return nil, fmt.Errorf("link: mem dial %q: %w", addr, ErrClosed)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memListener struct {
	net   *MemNetwork
	addr  string
	conns chan Conn
	done  chan struct{}
	once  sync.Once
}

func (l *memListener) Accept(ctx context.Context) (Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, l.addr)
		l.net.mu.Unlock()
	})
	return nil
}
