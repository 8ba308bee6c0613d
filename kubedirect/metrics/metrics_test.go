package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRegisterAndNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	m.Frames.WithLabelValues("rs", "sched", "out").Add(2)
	m.Invalidations.WithLabelValues("rs", "sched", ReasonPeerCrash).Inc()
	want := `
# HELP kubedirect_link_messages_total Frames sent or received on a Kubedirect link.
# TYPE kubedirect_link_messages_total counter
kubedirect_link_messages_total{direction="out",hop="rs",peer="sched"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kubedirect_link_messages_total"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.Invalidations.WithLabelValues("rs", "sched", ReasonPeerCrash)); got != 1 {
		t.Fatalf("invalidations = %v", got)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
}
