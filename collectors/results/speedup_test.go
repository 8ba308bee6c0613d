package results

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/internal/stats"
)

func TestParsePairs(t *testing.T) {
	ps, err := ParsePairs("kd/k8s, kd+/k8s+")
	require.NoError(t, err)
	require.Equal(t, []Pair{{"kd", "k8s"}, {"kd+", "k8s+"}}, ps)
	for _, bad := range []string{"kd", "kd/", "/k8s", "kd/kd"} {
		_, err := ParsePairs(bad)
		require.ErrorContains(t, err, "want FAST/BASE", bad)
	}
}

func TestWriteSpeedups(t *testing.T) {
	pd := &PerfData{Version: "1.0"}
	add := func(sys string, rep int, p90 float64) {
		pd.DataItems = append(pd.DataItems, DataItem{Unit: "ms", Data: map[string]float64{KeyPerc90: p90},
			Labels: map[string]string{LabelMetric: "e2e", LabelSystem: sys, LabelQPSProfile: "default", LabelSize: "100",
				LabelRep: string(rune('0' + rep)), LabelWarmup: "false", LabelStatus: string(RepOK)}})
	}
	for rep, v := range []float64{100, 110, 90} {
		add("kd", rep, v)
		add("k8s", rep, 10*v)
	}
	r := &Run{summary: pd}
	var b strings.Builder
	require.NoError(t, WriteSpeedups(&b, r, []Pair{{"kd", "k8s"}}, Metric{"e2e", KeyPerc90}, stats.DefaultBootstrap))
	require.Contains(t, b.String(), "kd/k8s")
	require.Contains(t, b.String(), "10.00x")
	err := WriteSpeedups(&b, r, []Pair{{"kd+", "k8s+"}}, Metric{"e2e", KeyPerc90}, stats.DefaultBootstrap)
	require.ErrorContains(t, err, "no configuration has both systems")
}
