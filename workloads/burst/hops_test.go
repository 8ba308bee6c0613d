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

func TestSaveHops(t *testing.T) {
	var since string
	hops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		since = r.URL.Query().Get("since")
		w.Write([]byte(`{"hop":"replicaset","sentNs":1,"recvNs":2}` + "\n"))
	}))
	defer hops.Close()
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	run, err := results.Create(t.TempDir(), results.Manifest{Experiment: "scale-pods", Systems: []string{"kd"}, Sizes: []int{5}, Reps: 1})
	require.NoError(t, err)
	id := results.RepID{System: "kd", QPSProfile: "default", Size: 5, Rep: 1}
	require.NoError(t, saveHops(context.Background(), run, id,
		map[string]string{"kd-replicaset": hops.URL, "kd-other": none.URL}, time.Unix(0, 77)))
	require.Equal(t, "77", since)
	data, err := os.ReadFile(filepath.Join(run.Dir, "hops_kd_default_5_rep1_kd-replicaset.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(data), `"hop":"replicaset"`)
	_, err = os.Stat(filepath.Join(run.Dir, "hops_kd_default_5_rep1_kd-other.jsonl"))
	require.True(t, os.IsNotExist(err), "a component without /hops leaves no file")

	err = saveHops(context.Background(), run, id, map[string]string{"dead": "http://127.0.0.1:1"}, time.Now())
	require.ErrorContains(t, err, "dead /hops")
}
