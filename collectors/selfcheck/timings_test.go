package selfcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

const agentCSV = "namespace,name,uid,node,bound_unix_ns,ready_unix_ns\n" +
	"ns,a,u1,n0,1000000000,1200000000\n" +
	"ns,b,u2,n1,1000000000,1210000000\n"

var twoTimings = []PodTiming{
	{Namespace: "ns", Name: "a", Node: "n0", BoundSeenNs: 1_000_000_000, ReadyWrittenNs: 1_200_000_000},
	{Namespace: "ns", Name: "b", Node: "n1", BoundSeenNs: 1_000_000_000, ReadyWrittenNs: 1_210_000_000},
}

func TestFetchNodeAgentTimings(t *testing.T) {
	for _, tc := range []struct {
		name        string
		contentType string
		status      int
		body        string
		want        []PodTiming
		wantErr     string
	}{
		{name: "the agent's CSV", contentType: "text/csv; charset=utf-8", body: agentCSV, want: twoTimings},
		{name: "columns by header name", contentType: "text/csv",
			body: "uid,extra,ready_unix_ns,bound_unix_ns,node,name,namespace\nu1,x,1200000000,1000000000,n0,a,ns\n",
			want: twoTimings[:1]},
		{name: "the node side split", contentType: "text/csv",
			body: "namespace,name,node,bound_unix_ns,ready_unix_ns,sandbox_done_unix_ns,create_sent_unix_ns,created_unix_ns," +
				"creates_in_flight,create_throttled_ns,write_sent_unix_ns,writes_in_flight,write_throttled_ns\n" +
				"ns,a,n0,1000000000,1200000000,1150000000,1001000000,1120000000,7,3000,1190000000,2,0\n",
			want: []PodTiming{{Namespace: "ns", Name: "a", Node: "n0", BoundSeenNs: 1_000_000_000, ReadyWrittenNs: 1_200_000_000,
				SandboxDoneNs: 1_150_000_000, CreateSentNs: 1_001_000_000, CreatedNs: 1_120_000_000, CreatesInFlight: 7,
				CreateThrottledNs: 3000, WriteSentNs: 1_190_000_000, WritesInFlight: 2}}},
		{name: "bad split number", contentType: "text/csv",
			body: "namespace,name,node,bound_unix_ns,ready_unix_ns,writes_in_flight\nns,a,n0,1,2,many\n", wantErr: "line 2: column writes_in_flight"},
		{name: "header only", contentType: "text/csv", body: "namespace,name,uid,node,bound_unix_ns,ready_unix_ns\n", want: nil},
		{name: "JSON", contentType: "application/json",
			body: `[{"namespace":"ns","name":"a","node":"n0","boundSeenNs":1000000000,"readyWrittenNs":1200000000},
			        {"namespace":"ns","name":"b","node":"n1","boundSeenNs":1000000000,"readyWrittenNs":1210000000}]`,
			want: twoTimings},
		{name: "server error", status: http.StatusInternalServerError, body: "boom", wantErr: "500 Internal Server Error: boom"},
		{name: "empty body", contentType: "text/csv", body: "", wantErr: "empty, want a CSV header"},
		{name: "missing column", contentType: "text/csv", body: "namespace,name,node,bound,ready\n", wantErr: `has no column "bound_unix_ns"`},
		{name: "bad number", contentType: "text/csv", body: agentCSV + "ns,c,u3,n2,12x,5\n", wantErr: "line 4: column bound_unix_ns"},
		{name: "ragged row", contentType: "text/csv", body: agentCSV + "ns,c,u3\n", wantErr: "record on line 4: wrong number of fields"},
		{name: "zero time", contentType: "text/csv", body: agentCSV + "ns,c,u3,n2,0,5\n", wantErr: "line 4: pod ns/c: non-positive timestamp"},
		{name: "bad JSON", contentType: "application/json", body: `{"namespace":"ns"}`, wantErr: "decoding JSON"},
		{name: "JSON without name", contentType: "application/json", body: `[{"namespace":"ns","boundSeenNs":1,"readyWrittenNs":2}]`,
			wantErr: "item 0: pod without namespace or name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var query string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "/agent/timings", r.URL.Path)
				query = r.URL.RawQuery
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			got, err := FetchNodeAgentTimings(context.Background(), srv.URL+"/agent/", time.Unix(0, 42))
			require.Equal(t, "since=42", query)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, srv.URL, "errors name the URL")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFetchNodeAgentTimingsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "http://%zz"} {
		_, err := FetchNodeAgentTimings(context.Background(), u, time.Now())
		require.ErrorContains(t, err, "not an absolute URL", "%q", u)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := FetchNodeAgentTimings(context.Background(), srv.URL, time.Now())
	require.ErrorContains(t, err, "connection refused")
}

// TestFetchFromTheNodeAgentsLog reads what the real node agent serves.
func TestFetchFromTheNodeAgentsLog(t *testing.T) {
	log := nodeagent.NewTimingLog(0)
	base := time.Unix(1_700_000_000, 0)
	for i, name := range []string{"early", "p0", "p1"} {
		bound := base.Add(time.Duration(i) * time.Second)
		log.PodReady(nodeagent.PodTiming{Namespace: "ns", Name: name, UID: "u", Node: "kd-node-0",
			Bound: bound, Ready: bound.Add(200 * time.Millisecond)})
	}
	mux := http.NewServeMux()
	mux.Handle("/timings", log)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	got, err := FetchNodeAgentTimings(context.Background(), srv.URL, base.Add(time.Second))
	require.NoError(t, err)
	require.Len(t, got, 2, "since filters out the earlier pod")
	require.Equal(t, PodTiming{Namespace: "ns", Name: "p0", Node: "kd-node-0",
		BoundSeenNs: base.Add(time.Second).UnixNano(), ReadyWrittenNs: base.Add(1200 * time.Millisecond).UnixNano()}, got[0])
}
