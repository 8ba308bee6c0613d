package local

import (
	"context"
	"fmt"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"sort"
	"testing"
	"time"

	"github.com/kdbench/kdbench/clusters"
)

// BenchmarkClusterUp brings up the default 80-node cluster and reports the
// [cluster] issue's targets: nodes Ready within 5 s and an idle footprint
// within 1.5 GB RSS. Run with -benchtime 1x (make bench does).
func BenchmarkClusterUp(b *testing.B) {
	requireUpstream(b)
	self := localtest.Binary(b)
	for i := 0; i < b.N; i++ {
		home := b.TempDir()
		p := New(Options{Root: home, Self: self, Attached: true})
		start := time.Now()
		c, err := p.Up(context.Background(), clusters.Spec{Name: "bench", Nodes: 80})
		if err != nil {
			b.Fatal(err)
		}
		up := time.Since(start)
		time.Sleep(10 * time.Second) // let start-up garbage settle before measuring idle memory
		rss, err := p.RSSBytes("bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Down(context.Background(), "bench"); err != nil {
			b.Fatal(err)
		}
		var total uint64
		var parts []string
		for comp, v := range rss {
			total += v
			parts = append(parts, fmt.Sprintf("%s %.0f MB", comp, float64(v)/1e6))
		}
		sort.Strings(parts)
		nodes := c.Startup["nodes-ready"]
		b.ReportMetric(nodes.Seconds(), "s-to-80-nodes-ready")
		b.ReportMetric(up.Seconds(), "s-to-usable")
		b.ReportMetric(float64(total)/1e6, "MB-idle-rss")
		b.Logf("80 nodes Ready in %.2fs (target ≤ 5s: %.2fx of budget); usable in %.2fs; idle RSS %.0f MB (target ≤ 1500 MB: %.2fx) = %v",
			nodes.Seconds(), nodes.Seconds()/5, up.Seconds(), float64(total)/1e6, float64(total)/1.5e9, parts)
	}
}
