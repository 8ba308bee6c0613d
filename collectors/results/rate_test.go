package results

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteRates(t *testing.T) {
	pd := &PerfData{Version: "1.0"}
	add := func(sys string, size, rep int, count, maxMs float64) {
		pd.DataItems = append(pd.DataItems, DataItem{Unit: "ms", Data: map[string]float64{KeyCount: count, KeyMax: maxMs},
			Labels: map[string]string{LabelMetric: "e2e", LabelSystem: sys, LabelQPSProfile: "default", LabelSize: fmt.Sprint(size),
				LabelRep: string(rune('0' + rep)), LabelWarmup: "false", LabelStatus: string(RepOK)}})
	}
	// kd+: 100 pods in 0.5, 1 and 2 s → 200, 100, 50 pods/s, median 100.
	for rep, maxMs := range []float64{500, 1000, 2000} {
		add("kd+", 100, rep, 100, maxMs)
	}
	// k8s+: 200 pods in 4 s each → 50 pods/s; a rep without a Ready pod
	// (max 0) has no rate.
	add("k8s+", 200, 0, 200, 4000)
	add("k8s+", 200, 1, 200, 4000)
	add("k8s+", 200, 2, 0, 0)
	var b strings.Builder
	require.NoError(t, WriteRates(&b, &Run{summary: pd}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3, b.String())
	require.Equal(t, []string{"k8s+", "default", "200", "2", "50.0"}, strings.Fields(lines[1]))
	require.Equal(t, []string{"kd+", "default", "100", "3", "100.0"}, strings.Fields(lines[2]))
}
