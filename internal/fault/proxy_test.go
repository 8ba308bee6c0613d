package fault

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := NewProxy("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether a connection to addr fails to echo (a reset may
// come before or after the dial returns).
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return true
	}
	defer c.Close()
	_, err = echo(c, "anyone?")
	return err != nil
}

// echo sends msg and reads it back, returning the round-trip time.
func echo(c net.Conn, msg string) (time.Duration, error) {
	start := time.Now()
	_ = c.SetDeadline(start.Add(3 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return 0, err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return 0, err
	}
	if string(buf) != msg {
		return 0, io.ErrUnexpectedEOF
	}
	return time.Since(start), nil
}

func TestProxyCut(t *testing.T) {
	ctx := context.Background()
	p := newProxy(t, echoServer(t))
	cut := &LinkCut{Link: "a→b", Proxy: p}
	before := dial(t, p.Addr())
	if _, err := echo(before, "hello"); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if err := cut.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := echo(before, "lost"); err == nil {
		t.Fatal("a connection survived the cut")
	}
	if !refused(p.Addr()) {
		t.Fatal("a new connection got through a cut link")
	}
	if err := cut.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := echo(dial(t, p.Addr()), "again"); err != nil {
		t.Fatalf("after Recover: %v", err)
	}
}

func TestProxyDelay(t *testing.T) {
	ctx := context.Background()
	p := newProxy(t, echoServer(t))
	const d = 100 * time.Millisecond
	slow := &LinkDelay{Link: "a→b", Proxy: p, Delay: d}
	c := dial(t, p.Addr())
	if err := slow.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		rtt, err := echo(c, "slow")
		if err != nil {
			t.Fatal(err)
		}
		// Delayed once each way; generous above for a loaded machine.
		if rtt < 2*d || rtt > 2*d+2*time.Second {
			t.Fatalf("round trip %v with a %v delay each way", rtt, d)
		}
	}
	if err := slow.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if rtt, err := echo(c, "fast"); err != nil || rtt >= 2*d {
		t.Fatalf("after Recover: round trip %v, %v", rtt, err)
	}
}

func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close() // nothing listens there now
	if !refused(newProxy(t, target).Addr()) {
		t.Fatal("echo through a proxy to nothing")
	}
}

// TestProxyLink: a Kubedirect link through the proxy breaks on a cut, on
// both ends, and a new stream works once the link is restored.
func TestProxyLink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := link.ListenGRPC(lis)
	defer l.Close()
	p := newProxy(t, l.Addr().String())
	d := link.NewGRPCDialer()
	defer d.Close()
	open := func() (client, server link.Conn) {
		t.Helper()
		// A cut leaves gRPC's connection in transient failure for a backoff
		// round: retry as the hops do.
		var c link.Conn
		var err error
		for c, err = d.Dial(ctx, p.Addr()); err != nil; c, err = d.Dial(ctx, p.Addr()) {
			select {
			case <-ctx.Done():
				t.Fatalf("dial through the restored proxy: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		if _, err := c.Send(&wire.Frame{Type: wire.FrameBatch, Epoch: 1, Seq: 1}); err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	c, s := open()
	p.Cut()
	for name, conn := range map[string]link.Conn{"server": s, "client": c} {
		if err := recvWithin(conn, 5*time.Second); err == nil {
			t.Fatalf("%s stream survived the cut", name)
		}
	}
	p.Restore()
	c2, s2 := open()
	if _, err := s2.Send(&wire.Frame{Type: wire.FrameBatch, Epoch: 2, Seq: 9}); err != nil {
		t.Fatal(err)
	}
	if f, _, _, err := c2.Recv(); err != nil || f.Seq != 9 {
		t.Fatalf("after restore: %v, %v", f, err)
	}
}

// recvWithin is Recv's error, or nil if a frame arrives or nothing happens
// within d (a stream that should have broken but hangs).
func recvWithin(c link.Conn, d time.Duration) error {
	errc := make(chan error, 1)
	go func() { _, _, _, err := c.Recv(); errc <- err }()
	select {
	case err := <-errc:
		return err
	case <-time.After(d):
		c.Close() // ends the Recv goroutine
		return nil
	}
}
