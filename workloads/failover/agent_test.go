package failover

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agent serves a node agent's pods gauge, counting down by one per scrape
// from start (never below floor).
func agent(t *testing.T, start, floor int64) string {
	var n atomic.Int64
	n.Store(start)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pods" { // as the agent's PodsHandler
			fmt.Fprintln(w, `[{"namespace":"ns","name":"fn-a","uid":"u1","node":"kd-node-0","state":"ready"},`+
				`{"namespace":"ns","name":"fn-b","uid":"u2","node":"kd-node-1","state":"deleted"}]`)
			return
		}
		v := n.Load()
		if v > floor {
			n.Add(-1)
		}
		fmt.Fprintf(w, "# HELP %s Pods.\n# TYPE %s gauge\n%s %d\n", agentPodsMetric, agentPodsMetric, agentPodsMetric, v)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAgentLeak(t *testing.T) {
	vs, err := agentLeak(context.Background(), agent(t, 3, 0), 5*time.Second)
	require.NoError(t, err)
	assert.Empty(t, vs, "the agent drops its pods within the limit")

	vs, err = agentLeak(context.Background(), agent(t, 3, 2), 300*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, vs, 1)
	assert.Equal(t, Leak, vs[0].Kind)
	assert.Contains(t, vs[0].Detail, "still tracks 2 pods")
	assert.Contains(t, vs[0].Detail, "ns/fn-a (uid u1, ready on kd-node-0), ns/fn-b (uid u2, deleted on kd-node-1)", "a leak names its pods")

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "up 1") }))
	defer bare.Close()
	_, err = agentLeak(context.Background(), bare.URL, 200*time.Millisecond)
	assert.ErrorContains(t, err, "no "+agentPodsMetric)
}

func TestOrphansSince(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE %s counter\n%s 5\n", agentOrphansMetric, agentOrphansMetric)
	}))
	defer srv.Close()
	for _, c := range []struct {
		before float64
		want   string
	}{
		{before: 5, want: ""},
		{before: 2, want: "forgot 3 pods"},
		{before: 9, want: "forgot 5 pods"}, // restarted: counts from zero
	} {
		got := orphansSince(context.Background(), srv.URL, c.before)
		if c.want == "" {
			assert.Empty(t, got, "before %g", c.before)
		} else {
			assert.Contains(t, got, c.want, "before %g", c.before)
		}
	}
	assert.Empty(t, orphansSince(context.Background(), "http://127.0.0.1:1", 0), "an agent that cannot be read says nothing")
}
