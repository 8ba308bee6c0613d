package link

import (
	"context"
	"testing"
	"time"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// BenchmarkMTLSOverhead streams the same frames over a plaintext and a
// mutual-TLS link, alternating in chunks so both see the same machine load,
// and reports each one's rate and their ratio (mtls-slowdown: time with
// mTLS / time without; 1.0 = free).
func BenchmarkMTLSOverhead(b *testing.B) {
	const chunk = 128
	for _, ops := range []int{1, 64} {
		b.Run("ops="+itoa(ops), func(b *testing.B) {
			pc, ps, pclean := benchConn(b, "grpc")
			defer pclean()
			mc, ms, mclean := benchConn(b, "grpc-mtls")
			defer mclean()
			f := podFrame(1, ops)
			var plain, mtls time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%2 == 0 { // alternate which link goes first
					plain += streamChunk(b, pc, ps, f, chunk)
					mtls += streamChunk(b, mc, ms, f, chunk)
				} else {
					mtls += streamChunk(b, mc, ms, f, chunk)
					plain += streamChunk(b, pc, ps, f, chunk)
				}
			}
			b.StopTimer()
			msgs := float64(b.N * chunk)
			b.ReportMetric(msgs/plain.Seconds(), "plain-msgs/s")
			b.ReportMetric(msgs/mtls.Seconds(), "mtls-msgs/s")
			b.ReportMetric(mtls.Seconds()/plain.Seconds(), "mtls-slowdown")
		})
	}
}

// streamChunk sends n copies of f from c and returns when s received them all.
func streamChunk(b *testing.B, c, s Conn, f *wire.Frame, n int) time.Duration {
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			if _, _, _, err := s.Recv(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		if _, err := c.Send(f); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkLinkDial measures opening a link and getting its first frame
// through: what a hop pays again after every restart or link cut. With mTLS
// the cost includes a full handshake on a fresh connection.
func BenchmarkLinkDial(b *testing.B) {
	for _, tr := range []string{"grpc", "grpc-mtls"} {
		b.Run(tr, func(b *testing.B) {
			gl, newDialer := grpcLink(b, tr == "grpc-mtls")
			defer gl.Close()
			ctx := context.Background()
			f := podFrame(1, 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// A fresh dialer: a new TCP (and TLS) connection, as after a restart.
				d := newDialer()
				c, err := d.Dial(ctx, gl.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Send(f); err != nil {
					b.Fatal(err)
				}
				s, err := gl.Accept(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, _, err := s.Recv(); err != nil {
					b.Fatal(err)
				}
				c.Close()
				s.Close()
				d.Close()
			}
		})
	}
}
