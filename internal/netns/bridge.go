package netns

import (
	"context"
	"io"
	"net"
	"sync"
)

// Bridge forwards every connection accepted on l to a connection from dial,
// byte for byte both ways, until Close: how a component inside a namespace
// reaches the API server on this machine's loopback, and how the harness
// reaches the activator inside one.
type Bridge struct {
	l      net.Listener
	dial   func(ctx context.Context) (net.Conn, error)
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// NewBridge starts forwarding from l.
func NewBridge(l net.Listener, dial func(ctx context.Context) (net.Conn, error)) *Bridge {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bridge{l: l, dial: dial, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.accept()
	return b
}

// Addr is where the bridge listens.
func (b *Bridge) Addr() net.Addr { return b.l.Addr() }

func (b *Bridge) accept() {
	defer b.wg.Done()
	for {
		in, err := b.l.Accept()
		if err != nil {
			return
		}
		b.wg.Add(1)
		go b.serve(in)
	}
}

func (b *Bridge) serve(in net.Conn) {
	defer b.wg.Done()
	out, err := b.dial(b.ctx)
	if err != nil {
		in.Close()
		return
	}
	if !b.track(in, out) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
	b.untrack(in, out)
}

func (b *Bridge) track(cs ...net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conns == nil { // closed
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		b.conns[c] = struct{}{}
	}
	return true
}

func (b *Bridge) untrack(cs ...net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(b.conns, c)
	}
}

// Close stops accepting, closes every forwarded connection and waits for
// the bridge's goroutines.
func (b *Bridge) Close() error {
	err := b.l.Close()
	b.cancel()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.conns = nil
	b.mu.Unlock()
	b.wg.Wait()
	return err
}
