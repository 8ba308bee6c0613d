package adapter

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/kdbench/kdbench/collectors/hoplog"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// HopEvent is one record arriving at a hop, in the hop-log format
// (collectors/hoplog), from which collectors build the latency breakdown.
type HopEvent = hoplog.Event

// HopLog is a hop.Observer keeping the last Cap record arrivals, served as
// JSON lines on /hops (?since=<ns> keeps later ones). Its ring grows as
// events arrive: a hop that sees few (the autoscaler's) holds few, where a
// ring allocated whole held 34 MB per hop from the start (the larger Go
// heap of kn-model-kd's harness, which runs the autoscaler hop, in the soak).
type HopLog struct {
	Cap  int
	mu   sync.Mutex
	ring []HopEvent // oldest at next once len(ring) == Cap
	next int
}

var _ hop.Observer = (*HopLog)(nil)

// NewHopLog keeps up to capacity events (default 1<<18).
func NewHopLog(capacity int) *HopLog {
	if capacity <= 0 {
		capacity = 1 << 18
	}
	return &HopLog{Cap: capacity}
}

// Received implements hop.Observer.
func (l *HopLog) Received(h, peer string, f *wire.Frame, recvNs int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range f.Ops {
		r := &f.Ops[i].Record
		ev := HopEvent{Hop: h, Peer: peer, Kind: r.Kind.String(), Namespace: r.Namespace, Name: r.Name,
			Node: r.Node, Replicas: r.Replicas, SentNs: f.SentNs, RecvNs: recvNs}
		if r.Kind == wire.KindPod {
			ev.Phase = r.Phase.String()
		}
		if f.Ops[i].Type == wire.OpRelease {
			ev.Phase = "Released"
		}
		if len(l.ring) < l.Cap {
			l.ring = append(l.ring, ev)
			continue
		}
		l.ring[l.next] = ev
		l.next = (l.next + 1) % l.Cap
	}
}

// Events returns the kept events received after sinceNs, oldest first.
func (l *HopLog) Events(sinceNs int64) []HopEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []HopEvent
	add := func(evs []HopEvent) {
		for _, e := range evs {
			if e.RecvNs > sinceNs {
				out = append(out, e)
			}
		}
	}
	add(l.ring[l.next:])
	add(l.ring[:l.next])
	return out
}

// ServeHTTP writes the events as JSON lines.
func (l *HopLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var since int64
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, "since: want ns since the Unix epoch: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = v
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, e := range l.Events(since) {
		if err := enc.Encode(e); err != nil {
			return
		}
	}
}
