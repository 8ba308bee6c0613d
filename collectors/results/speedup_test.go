package results

import (
	"strconv"
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

func TestWriteOverFloor(t *testing.T) {
	pd := &PerfData{Version: "1.0"}
	add := func(sys, profile string, size, rep int, p90 float64) {
		pd.DataItems = append(pd.DataItems, DataItem{Unit: "ms", Data: map[string]float64{KeyPerc90: p90},
			Labels: map[string]string{LabelMetric: "e2e", LabelSystem: sys, LabelQPSProfile: profile, LabelSize: strconv.Itoa(size),
				LabelRep: strconv.Itoa(rep), LabelWarmup: "false", LabelStatus: string(RepOK)}})
	}
	for rep, v := range []float64{100, 110, 90} {
		for _, size := range []int{100, 200} {
			f := float64(size) / 100
			add(FloorSystem, "artifact", size, rep, f*v)
			add("kd", "artifact", size, rep, f*1.5*v)
			add("k8s", "artifact", size, rep, f*8*v)
		}
		add("k8s+", "artifact", 100, rep, 3*v) // one size only
		add("kd", "tuned", 100, rep, v)        // no floor under tuned: skipped
	}
	cases := []struct {
		name    string
		systems []string
		golden  string
		err     string
	}{
		{"manifest order", []string{"k8s", "kd", "k8s+"}, "overfloor.golden.txt", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{summary: pd, manifest: Manifest{Systems: append(tc.systems, FloorSystem)}}
			var b strings.Builder
			err := WriteOverFloor(&b, r, Metric{"e2e", KeyPerc90}, stats.DefaultBootstrap)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			golden(t, tc.golden, []byte(b.String()))
		})
	}
	noFloor := &PerfData{Version: "1.0", DataItems: pd.DataItems[1:2]}
	err := WriteOverFloor(&strings.Builder{}, &Run{summary: noFloor}, Metric{"e2e", KeyPerc90}, stats.DefaultBootstrap)
	require.ErrorContains(t, err, "no configuration has both systems")
}
