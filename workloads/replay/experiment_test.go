package replay

import (
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	sums := []Summary{
		{System: "kn-model", Rules: "dirigent", Issued: 100, Completed: 98, Failed: map[string]int{"dispatch-timeout": 2},
			SchedulingLatencyMs: Distribution{P50: 400, P99: 2000}, Slowdown: Distribution{P50: 3, P99: 40}},
		{System: "kn-model-kd", Issued: 100, Completed: 100,
			SchedulingLatencyMs: Distribution{P50: 100, P99: 250}, Slowdown: Distribution{P50: 1.5, P99: 9},
			Memory: &MemorySummary{PeakRSSBytes: 300 << 20, RSSGrowthBytesPerMinute: -(1 << 19)}},
	}
	var b strings.Builder
	WriteTable(&b, sums, [][2]string{{"kn-model-kd", "kn-model"}, {"dirigent", "kn-model"}})
	want := `per-function metrics under the dirigent rules; percentiles over functions: linear interpolation, h = (n−1)·p (pandas' default quantile, as plot.py prints)
system          issued completed  failed  per-function scheduling latency ms p50/p99, slowdown p50/p99; harness peak RSS MiB, growth MiB/min
kn-model           100        98       2  400.0/2000.0, 3.00/40.00; -
kn-model-kd        100       100       0  100.0/250.0, 1.50/9.00; 300, -0.50
kn-model-kd/kn-model per-function scheduling latency: median ratio 0.25, p99 ratio 0.12
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}
