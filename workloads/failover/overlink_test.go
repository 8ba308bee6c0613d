package failover

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOverLink: only the cases whose subject is the autoscaler's link scale
// over it; the rest scale through the API like the bursts.
func TestOverLink(t *testing.T) {
	for _, tc := range []struct {
		target Target
		kind   Kind
		want   bool
	}{
		{Autoscaler, Crash, true},
		{Deployment, Cut, true},
		{Deployment, Crash, false},
		{Deployment, Stall, false},
		{ReplicaSet, Cut, false},
		{Scheduler, Crash, false},
		{NodeAgent, Cut, false},
		{APIServer, Crash, false},
		{"", None, false},
	} {
		require.Equal(t, tc.want, overLink(Case{Target: tc.target, Kind: tc.kind}), "%s-%s", tc.kind, tc.target)
	}
}
