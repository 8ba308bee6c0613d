package hoplog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []Event
		err        string
	}{
		{"empty", "", nil, ""},
		{"two lines and a blank", `{"hop":"scheduler","peer":"replicaset","kind":"Pod","namespace":"ns","name":"p-1","sentNs":1,"recvNs":2}

{"hop":"nodeagent","peer":"scheduler","kind":"Pod","namespace":"ns","name":"p-1","phase":"Bound","node":"n0","sentNs":3,"recvNs":4}
`, []Event{
			{Hop: "scheduler", Peer: "replicaset", Kind: "Pod", Namespace: "ns", Name: "p-1", SentNs: 1, RecvNs: 2},
			{Hop: "nodeagent", Peer: "scheduler", Kind: "Pod", Namespace: "ns", Name: "p-1", Phase: "Bound", Node: "n0", SentNs: 3, RecvNs: 4},
		}, ""},
		{"replicas", `{"hop":"replicaset","peer":"deployment","kind":"ReplicaSet","replicas":5,"sentNs":1,"recvNs":2}`,
			[]Event{{Hop: "replicaset", Peer: "deployment", Kind: "ReplicaSet", Replicas: 5, SentNs: 1, RecvNs: 2}}, ""},
		{"bad line named", "{}\n{\n", nil, "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.body))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
