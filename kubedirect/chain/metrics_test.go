package chain

import "github.com/prometheus/client_golang/prometheus/testutil"

func testutilValue(c *Chain, hop, peer, reason string) float64 {
	return testutil.ToFloat64(c.Metrics.Invalidations.WithLabelValues(hop, peer, reason))
}
