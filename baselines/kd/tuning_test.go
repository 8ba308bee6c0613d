package kd

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters/local"
)

// TestTuningMatchesProfiles: kd's own processes take the settings of the
// components they replace under each QPS profile.
func TestTuningMatchesProfiles(t *testing.T) {
	for _, tc := range []struct {
		profile                                     string
		qps, burst, workers, par, sqps, sburst, pct string
	}{
		{"default", "20", "30", "5", "16", "50", "100", "0"},
		{"artifact", "20", "30", "100", "50", "50", "100", "5"},
		{"tuned", "10000", "20000", "100", "50", "10000", "20000", "0"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			qps, burst, workers, par, sqps, sburst, pct := tuning(tc.profile)
			require.Equal(t, []string{tc.qps, tc.burst, tc.workers, tc.par, tc.sqps, tc.sburst, tc.pct},
				[]string{qps, burst, workers, par, sqps, sburst, pct})
			prof := local.Profiles[tc.profile]
			if w, ok := prof.ControllerManager["concurrent-replicaset-syncs"]; ok {
				require.Equal(t, w, workers, "workers follow the KCM's concurrent syncs")
			}
			if q, ok := prof.ControllerManager["kube-api-qps"]; ok {
				require.Equal(t, q, qps)
			}
			require.Equal(t, prof.SchedulerParallelism, atoi32(t, par))
			require.Equal(t, prof.PercentageOfNodesToScore, atoi32(t, pct))
		})
	}
}

func atoi32(t *testing.T, s string) int32 {
	t.Helper()
	var n int32
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int32(c-'0')
	}
	return n
}
