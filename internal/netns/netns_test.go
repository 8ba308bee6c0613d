package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/internal/supervisor"
)

func TestBridgeForwardsBothWaysAndCloses(t *testing.T) {
	back, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	go func() {
		for {
			c, err := back.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }() // echo
		}
	}()
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := NewBridge(front, func(ctx context.Context) (net.Conn, error) {
		return DialContext("")(ctx, "tcp", back.Addr().String())
	})
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the bridge: %q, %v", buf, err)
	}
	done := make(chan struct{})
	go func() { b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with a connection open")
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err == nil {
		t.Error("the forwarded connection survived Close")
	}
}

// TestDoRestoresTheThread: after Do the thread is back in this process's
// namespace, and what f listened on is in the other one.
func TestDoRestoresTheThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	name := fmt.Sprintf("kdbench-netns-test-%d", os.Getpid())
	ip := func(args ...string) error {
		_, err := supervisor.Output(context.Background(), supervisor.Command{Path: "ip", Args: args})
		return err
	}
	if err := ip("netns", "add", name); err != nil {
		t.Fatal(err)
	}
	defer ip("netns", "delete", name)
	self, _ := os.Readlink("/proc/self/ns/net")
	for range 20 { // many times, on whatever threads run them
		if err := Do(Path(name), func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	l, err := Listen(Path(name), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err) // lo is down in a fresh namespace: 127.0.0.1 still binds
	}
	defer l.Close()
	if now, _ := os.Readlink("/proc/self/ns/net"); now != self {
		t.Errorf("process namespace %s after Do, want %s", now, self)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := DialContext("")(ctx, "tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Errorf("%s, listened in %s, reached from this namespace", l.Addr(), name)
	} else if !strings.Contains(err.Error(), "refused") {
		t.Logf("dial from this namespace: %v", err)
	}
}
