package chain

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// firstSeen records when each hop first received each record key.
type firstSeen struct {
	mu   sync.Mutex
	seen map[string]int64 // hop + key → recvNs
}

func (o *firstSeen) Received(hop, _ string, f *wire.Frame, recvNs int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range f.Ops {
		k := hop + "|" + f.Ops[i].Record.Key().String()
		if _, ok := o.seen[k]; !ok {
			o.seen[k] = recvNs
		}
	}
}

func (o *firstSeen) get(hop string, k wire.Key) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.seen[hop+"|"+k.String()]
	return t, ok
}

func pct(d []float64, p int) float64 {
	sort.Float64s(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

// benchTransports are the links the chain benchmarks compare: plaintext
// and mutual-TLS gRPC, so `make bench` prints what mTLS costs a whole chain.
var benchTransports = []Transport{GRPC, GRPCMTLS}

// BenchmarkHopLatency scales a fresh Deployment 0 → 1 per iteration over a
// 5-hop loopback gRPC chain and measures, for each hop, the time from the
// previous hop receiving the change to this hop receiving its consequence
// (processing + queueing + link). Reports p50/p99 over all hops.
func BenchmarkHopLatency(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(string(tr), func(b *testing.B) { benchHopLatency(b, tr) })
	}
}

func benchHopLatency(b *testing.B, tr Transport) {
	obs := &firstSeen{seen: map[string]int64{}}
	ctx := context.Background()
	c, err := Start(ctx, Options{Nodes: 1, Transport: tr, Observer: obs})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitSynced(ctx); err != nil {
		b.Fatal(err)
	}
	started := make(chan wire.Record, 1)
	c.SetSandboxHooks(func(_ string, r wire.Record) { started <- r }, nil)
	var hops, e2e []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("fn%d", i)
		t0 := time.Now().UnixNano()
		if err := c.Scale(ctx, "default", name, 1); err != nil {
			b.Fatal(err)
		}
		pod := <-started
		e2e = append(e2e, float64(time.Now().UnixNano()-t0)/1e3)
		dep := wire.Key{Kind: wire.KindDeployment, Namespace: "default", Name: name}
		rs := wire.Key{Kind: wire.KindReplicaSet, Namespace: "default", Name: name}
		pk := pod.Key()
		steps := []struct {
			hop string
			key wire.Key
		}{{refhops.Deployment, dep}, {refhops.ReplicaSet, rs}, {refhops.Scheduler, pk}, {"node-0", pk}}
		prev := t0
		for _, s := range steps {
			t, ok := obs.get(s.hop, s.key)
			if !ok {
				b.Fatalf("%s never received %s", s.hop, s.key)
			}
			hops = append(hops, float64(t-prev)/1e3)
			prev = t
		}
	}
	b.StopTimer()
	b.ReportMetric(pct(hops, 50), "hop-p50-us")
	b.ReportMetric(pct(hops, 99), "hop-p99-us")
	b.ReportMetric(pct(e2e, 50), "1pod-e2e-p50-us")
}

// BenchmarkScaleUp1000 times scaling one Deployment from 0 to 1000 running
// pods through a 5-hop loopback gRPC chain with zero sandbox delay (then back
// to 0, untimed).
func BenchmarkScaleUp1000(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(string(tr), func(b *testing.B) { benchScaleUp1000(b, tr) })
	}
}

func benchScaleUp1000(b *testing.B, tr Transport) {
	const n = 1000
	ctx := context.Background()
	c, err := Start(ctx, Options{Nodes: 1, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitSynced(ctx); err != nil {
		b.Fatal(err)
	}
	var running atomic.Int64
	all := make(chan struct{}, 1)
	c.SetSandboxHooks(func(string, wire.Record) {
		if running.Add(1) == n {
			all <- struct{}{}
		}
	}, nil)
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		running.Store(0)
		start := time.Now()
		if err := c.Scale(ctx, "default", "fn", n); err != nil {
			b.Fatal(err)
		}
		<-all
		total += time.Since(start)
		b.StopTimer()
		if err := c.Scale(ctx, "default", "fn", 0); err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := WaitFor(wctx, func() bool { r, s := c.Running("fn"); return r == 0 && s == 0 }); err != nil {
			b.Fatal("scale-down did not finish")
		}
		cancel()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/scaleup")
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "pods/s")
}
