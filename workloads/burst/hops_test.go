package burst

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
)

func TestFetchAndSaveHops(t *testing.T) {
	var since string
	hops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since = r.URL.Query().Get("since")
		w.Write([]byte(`{"hop":"replicaset","sentNs":1,"recvNs":2}` + "\n"))
	}))
	defer hops.Close()
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	got, err := FetchHops(context.Background(), map[string]string{"kd-replicaset": hops.URL, "kd-other": none.URL}, time.Unix(0, 77))
	require.NoError(t, err)
	require.Equal(t, "77", since)
	require.Len(t, got, 1, "a component without /hops is skipped")

	run, err := results.Create(t.TempDir(), results.Manifest{Experiment: "scale-pods", Systems: []string{"kd"}, Sizes: []int{5}, Reps: 1})
	require.NoError(t, err)
	id := results.RepID{System: "kd", QPSProfile: "default", Size: 5, Rep: 1}
	require.NoError(t, saveHops(run, id, got))
	data, err := os.ReadFile(filepath.Join(run.Dir, "hops_kd_default_5_rep1_kd-replicaset.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(data), `"hop":"replicaset"`)

	_, err = FetchHops(context.Background(), map[string]string{"dead": "http://127.0.0.1:1"}, time.Now())
	require.ErrorContains(t, err, "dead /hops")
}

func TestOverlayHops(t *testing.T) {
	hops := map[string][]byte{
		"kd-replicaset": []byte(`{"hop":"replicaset","peer":"deployment","kind":"ReplicaSet","namespace":"ns","name":"fn-0-abc","replicas":2,"sentNs":90,"recvNs":100}
{"hop":"replicaset","peer":"scheduler","kind":"Pod","namespace":"ns","name":"fn-0-abc-x1","phase":"Bound","sentNs":300,"recvNs":310}
`),
		"kd-scheduler": []byte(`{"hop":"scheduler","peer":"replicaset","kind":"Pod","namespace":"ns","name":"fn-0-abc-x1","phase":"Pending","sentNs":150,"recvNs":160}
{"hop":"scheduler","peer":"replicaset","kind":"Pod","namespace":"ns","name":"fn-0-abc-x2","phase":"Pending","sentNs":155,"recvNs":165}
`),
		"kd-nodeagent": []byte(`{"hop":"nodeagent","peer":"scheduler","kind":"Pod","namespace":"ns","name":"fn-0-abc-x1","phase":"Bound","node":"n1","sentNs":200,"recvNs":210}
`),
	}
	recs := []results.PodRecord{
		{Namespace: "ns", Pod: "fn-0-abc-x1", BurstStart: 50, RSScaled: 9000, Created: 9100, Scheduled: 9100, Bound: 9100, Ready: 9500},
		{Namespace: "ns", Pod: "fn-0-abc-x2", BurstStart: 50, Created: 9200, Ready: 9600}, // never bound over the link: left alone
	}
	n, err := OverlayHops(recs, hops)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, results.PodRecord{Namespace: "ns", Pod: "fn-0-abc-x1", BurstStart: 50, RSScaled: 100, Created: 150, Scheduled: 200, Bound: 200, Ready: 9500}, recs[0])
	require.Equal(t, int64(9200), recs[1].Created)

	_, err = OverlayHops(recs, map[string][]byte{"kd-x": []byte("{not json\n")})
	require.ErrorContains(t, err, "kd-x /hops line 1")
}
