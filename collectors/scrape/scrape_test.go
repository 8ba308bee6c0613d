package scrape

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/clusters"
)

func TestScrapeKeepsWhatAnswers(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/metrics", r.URL.Path)
		io.WriteString(w, "# TYPE up gauge\nup 1\n")
	}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer broken.Close()
	c := &clusters.Cluster{REST: &rest.Config{Host: ok.URL}, Endpoints: map[string]string{
		"kube-apiserver": ok.URL, "nodeagent": ok.URL, "kube-scheduler": broken.URL,
	}}
	got, err := Scrape(context.Background(), c)
	require.ErrorContains(t, err, "scraping kube-scheduler")
	require.ErrorContains(t, err, "403")
	require.Len(t, got, 2)
	require.True(t, strings.HasPrefix(string(got["nodeagent"]), "# TYPE up gauge"))
}

func TestServeHarnessMetrics(t *testing.T) {
	stop, err := Serve("127.0.0.1:0")
	require.NoError(t, err)
	stop()
	_, err = Serve("256.0.0.1:1")
	require.ErrorContains(t, err, "--metrics-addr 256.0.0.1:1")
}
