// Package hoplog is the format of Kubedirect's hop logs: what each hop
// serves on /hops and what the results keep as hops_*.jsonl, one JSON line
// per record a hop received. The hops write it (kubedirect/controllers/
// adapter); the breakdowns and the testbed's checks read it.
package hoplog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
)

// Event is one record arriving at a hop: sent by peer at SentNs, received
// here at RecvNs, both ns since the Unix epoch (the two hosts' clocks when
// peer and hop run on different hosts).
type Event struct {
	Hop       string `json:"hop"`
	Peer      string `json:"peer"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Phase     string `json:"phase,omitempty"`
	Node      string `json:"node,omitempty"`
	Replicas  int32  `json:"replicas,omitempty"`
	SentNs    int64  `json:"sentNs"`
	RecvNs    int64  `json:"recvNs"`
}

// Parse reads a log's JSON lines (blank lines skipped); an error names the
// line.
func Parse(body []byte) ([]Event, error) {
	var out []Event
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
