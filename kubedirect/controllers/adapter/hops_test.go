package adapter

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// The log keeps the last Cap arrivals, oldest first, whether or not it has
// wrapped, and serves those after ?since.
func TestHopLogKeepsTheLastCap(t *testing.T) {
	for _, c := range []struct {
		cap, arrivals int
		wantFirst     int64
	}{
		{cap: 4, arrivals: 0},
		{cap: 4, arrivals: 3, wantFirst: 1},
		{cap: 4, arrivals: 4, wantFirst: 1},
		{cap: 4, arrivals: 5, wantFirst: 2},
		{cap: 4, arrivals: 11, wantFirst: 8},
	} {
		t.Run(fmt.Sprintf("%d of %d", c.arrivals, c.cap), func(t *testing.T) {
			l := NewHopLog(c.cap)
			for i := 1; i <= c.arrivals; i++ {
				l.Received("scheduler", "replicaset", &wire.Frame{Ops: []wire.Op{{Record: wire.Record{Kind: wire.KindPod, Name: "p"}}}}, int64(i))
			}
			evs := l.Events(0)
			if want := min(c.arrivals, c.cap); len(evs) != want || cap(l.ring) > 2*c.cap {
				t.Fatalf("%d events kept (ring capacity %d), want %d", len(evs), cap(l.ring), want)
			}
			for i, e := range evs {
				if e.RecvNs != c.wantFirst+int64(i) {
					t.Fatalf("events %+v: not the last ones, oldest first", evs)
				}
			}
		})
	}
	l := NewHopLog(4)
	for i := 1; i <= 6; i++ {
		l.Received("scheduler", "replicaset", &wire.Frame{Ops: []wire.Op{{Record: wire.Record{Kind: wire.KindPod, Name: "p"}}}}, int64(i))
	}
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest("GET", "/hops?since=4", nil))
	if lines := strings.Count(rec.Body.String(), "\n"); lines != 2 {
		t.Errorf("/hops?since=4 served %d events, want 2: %s", lines, rec.Body)
	}
}
