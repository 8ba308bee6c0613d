package link

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

func frame(seq uint64) *wire.Frame {
	return &wire.Frame{Type: wire.FrameBatch, Epoch: 1, Seq: seq, SentNs: 5, Ops: []wire.Op{{Type: wire.OpUpsert,
		Record: wire.Record{Kind: wire.KindPod, Phase: wire.PhasePending, Namespace: "ns", Name: "p"}}}}
}

type transport struct {
	name   string
	listen func(t *testing.T) (Listener, Dialer, string)
}

func transports() []transport {
	return []transport{
		{"mem", func(t *testing.T) (Listener, Dialer, string) {
			n := NewMemNetwork()
			l, err := n.Listen("d")
			if err != nil {
				t.Fatal(err)
			}
			return l, n, "d"
		}},
		{"grpc", func(t *testing.T) (Listener, Dialer, string) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l := ListenGRPC(lis)
			d := NewGRPCDialer()
			t.Cleanup(func() { d.Close() })
			return l, d, l.Addr().String()
		}},
	}
}

// TestStreamOrderAndClose: frames arrive in order both ways; closing either
// end fails the other's Recv.
func TestStreamOrderAndClose(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			l, d, addr := tr.listen(t)
			defer l.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client, err := d.Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			// gRPC opens the server side on the first message.
			if _, err := client.Send(frame(1)); err != nil {
				t.Fatal(err)
			}
			server, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := uint64(2); i <= 100; i++ {
				if _, err := client.Send(frame(i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := uint64(1); i <= 100; i++ {
				f, n, _, err := server.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(f, frame(i)) || n == 0 {
					t.Fatalf("frame %d: got %+v (%d bytes)", i, f, n)
				}
			}
			if _, err := server.Send(frame(7)); err != nil {
				t.Fatal(err)
			}
			if f, _, _, err := client.Recv(); err != nil || f.Seq != 7 {
				t.Fatalf("reply: %v %v", f, err)
			}
			client.Close()
			if _, _, _, err := server.Recv(); err == nil {
				t.Fatal("server Recv succeeded after client closed")
			}
			if _, err := client.Send(frame(1)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	wantMax := []time.Duration{10, 20, 40, 80, 80}
	for i, w := range wantMax {
		got := b.Next()
		if got < w*time.Millisecond/2 || got > w*time.Millisecond {
			t.Fatalf("step %d: %v outside [%v, %v]", i, got, w*time.Millisecond/2, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Next(); got > 10*time.Millisecond {
		t.Fatalf("after reset: %v", got)
	}
}
