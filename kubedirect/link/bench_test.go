package link

import (
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

func benchConn(b *testing.B, tr string) (client, server Conn, cleanup func()) {
	b.Helper()
	ctx := context.Background()
	var l Listener
	var d Dialer
	addr := "d"
	switch tr {
	case "grpc", "grpc-mtls":
		gl, newDialer := grpcLink(b, tr == "grpc-mtls")
		gd := newDialer()
		l, d, addr = gl, gd, gl.Addr().String()
		cleanup = func() { gd.Close(); gl.Close() }
	default:
		n := NewMemNetwork()
		ml, _ := n.Listen(addr)
		l, d = ml, n
		cleanup = func() { ml.Close() }
	}
	c, err := d.Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Send(podFrame(0, 1)); err != nil {
		b.Fatal(err)
	}
	s, err := l.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, _, err := s.Recv(); err != nil {
		b.Fatal(err)
	}
	return c, s, cleanup
}

// grpcLink is a loopback gRPC listener and a maker of dialers for it,
// plaintext or with mutual TLS between the autoscaler and the deployment hop.
func grpcLink(b *testing.B, mtls bool) (*GRPCListener, func() *GRPCDialer) {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if !mtls {
		return ListenGRPC(lis), func() *GRPCDialer { return NewGRPCDialer() }
	}
	ca := newCA(b)
	gl := ListenGRPC(lis, hopCreds(b, ca, "deployment").ServerOption("autoscaler"))
	client, peers := hopCreds(b, ca, "autoscaler"), map[string]string{gl.Addr().String(): "deployment"}
	return gl, func() *GRPCDialer { return NewMTLSDialer(client, peers) }
}

// podFrame is a batch of n typical pod descriptors.
func podFrame(seq uint64, n int) *wire.Frame {
	f := &wire.Frame{Type: wire.FrameBatch, Epoch: 1, Seq: seq}
	for i := 0; i < n; i++ {
		f.Ops = append(f.Ops, wire.Op{Type: wire.OpUpsert, Record: wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound,
			Namespace: "default", Name: "fn-7d9c5b-x8k2p", UID: "0f4c9a3e-2b7d-4c1e-9f0a-5d3b7e2c1a90", Owner: "fn-7d9c5b",
			Node: "node-17", Template: "7d9c5b", CreatedNs: 1700000000123456789}})
	}
	return f
}

// BenchmarkLinkThroughput streams frames one way over one link and reports
// messages (frames) per second and pod descriptors per second.
func BenchmarkLinkThroughput(b *testing.B) {
	for _, tr := range []string{"grpc", "grpc-mtls", "memory"} {
		for _, ops := range []int{1, 64} {
			b.Run(tr+"/ops="+itoa(ops), func(b *testing.B) {
				c, s, cleanup := benchConn(b, tr)
				defer cleanup()
				f := podFrame(1, ops)
				done := make(chan error, 1)
				go func() {
					for i := 0; i < b.N; i++ {
						if _, _, _, err := s.Recv(); err != nil {
							done <- err
							return
						}
					}
					done <- nil
				}()
				b.ResetTimer()
				start := time.Now()
				var bytes int
				for i := 0; i < b.N; i++ {
					n, err := c.Send(f)
					if err != nil {
						b.Fatal(err)
					}
					bytes += n
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				el := time.Since(start).Seconds()
				b.ReportMetric(float64(b.N)/el, "msgs/s")
				b.ReportMetric(float64(b.N*ops)/el, "pods/s")
				b.SetBytes(int64(bytes / b.N))
				c.Close()
			})
		}
	}
}

// BenchmarkLinkLatency sends one frame at a time (the next after the previous
// arrived) and reports the one-way latency percentiles.
func BenchmarkLinkLatency(b *testing.B) {
	for _, tr := range []string{"grpc", "grpc-mtls", "memory"} {
		b.Run(tr, func(b *testing.B) {
			c, s, cleanup := benchConn(b, tr)
			defer cleanup()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := podFrame(uint64(i), 1)
				f.SentNs = time.Now().UnixNano()
				if _, err := c.Send(f); err != nil {
					b.Fatal(err)
				}
				g, _, recv, err := s.Recv()
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Duration(recv-g.SentNs))
			}
			b.StopTimer()
			p50, p99 := percentiles(lat)
			b.ReportMetric(float64(p50.Microseconds()), "p50-us")
			b.ReportMetric(float64(p99.Microseconds()), "p99-us")
			c.Close()
		})
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)*50/100], d[min(len(d)-1, len(d)*99/100)]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
