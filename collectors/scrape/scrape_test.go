package scrape

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
)

// adminCert makes a client certificate like the local cluster's admin one.
func adminCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kdbench-admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// metricsServer serves Prometheus text at /metrics. secure servers use a
// self-signed certificate and demand the admin client certificate, as the
// controller-manager and scheduler secure ports do.
func metricsServer(t *testing.T, secure bool, text string) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		if secure && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "kdbench-admin") {
			http.Error(w, "forbidden: no admin certificate", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, text)
	})
	if !secure {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func family(name string) string {
	return fmt.Sprintf("# HELP %s A test metric.\n# TYPE %s counter\n%s 1\n", name, name, name)
}

func TestScrape(t *testing.T) {
	certPEM, keyPEM := adminCert(t)
	api := metricsServer(t, true, family("apiserver_request_total"))
	kcm := metricsServer(t, true, family("workqueue_adds_total"))
	agent := metricsServer(t, false, family("kdbench_nodeagent_pods"))
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	apiCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	admin := &rest.Config{Host: api.URL, TLSClientConfig: rest.TLSClientConfig{CAData: apiCA, CertData: certPEM, KeyData: keyPEM}}
	c := &clusters.Cluster{REST: admin, Endpoints: map[string]string{
		"kube-apiserver":          api.URL,
		"kube-controller-manager": kcm.URL,
		"nodeagent":               agent.URL + "/",
		"kube-scheduler":          broken.URL,
		"gone":                    gone.URL,
		"odd":                     "ftp://127.0.0.1:1",
		"bad":                     "::",
	}}
	got, err := Scrape(context.Background(), c)
	for _, want := range []string{
		"scraping kube-scheduler: GET " + broken.URL + "/metrics: 500 Internal Server Error: internal error",
		"scraping gone: Get",
		`scraping odd: endpoint "ftp://127.0.0.1:1": scheme "ftp" is neither http nor https`,
		`scraping bad: endpoint "::" is not a URL`,
	} {
		require.ErrorContains(t, err, want)
	}
	require.Len(t, got, 3, "the components that answered are kept")
	for name, metric := range map[string]string{
		"kube-apiserver": "apiserver_request_total", "kube-controller-manager": "workqueue_adds_total", "nodeagent": "kdbench_nodeagent_pods",
	} {
		fams, perr := new(expfmt.TextParser).TextToMetricFamilies(bytes.NewReader(got[name]))
		require.NoError(t, perr, name)
		require.Contains(t, fams, metric, name)
	}

	// The API server's certificate is verified: a CA that did not sign it
	// (here the client certificate itself) fails.
	admin.CAData = certPEM
	c.Endpoints = map[string]string{"kube-apiserver": api.URL}
	_, err = Scrape(context.Background(), c)
	require.ErrorContains(t, err, "certificate signed by unknown authority")

	_, err = Scrape(context.Background(), &clusters.Cluster{})
	require.ErrorContains(t, err, "without an admin REST configuration")
}

func TestScrapeInto(t *testing.T) {
	agent := metricsServer(t, false, family("kdbench_nodeagent_pods"))
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(broken.Close)
	c := &clusters.Cluster{REST: &rest.Config{Host: agent.URL}, Endpoints: map[string]string{
		"nodeagent": agent.URL, "kube-scheduler": broken.URL,
	}}
	run, err := results.Create(t.TempDir(), results.Manifest{Experiment: "scale-pods", Systems: []string{"k8s"}, Sizes: []int{100}, Reps: 1})
	require.NoError(t, err)
	id := results.RepID{System: "k8s", QPSProfile: "tuned", Size: 100, Rep: 0}

	err = ScrapeInto(context.Background(), run, id, Before, c)
	require.ErrorContains(t, err, "scraping kube-scheduler")
	files, ferr := run.MetricsFiles()
	require.NoError(t, ferr)
	require.Equal(t, []string{filepath.Join(run.Dir, results.MetricsDir, "k8s_tuned_100_rep0_before_nodeagent.prom")}, files)
	body, ferr := os.ReadFile(files[0])
	require.NoError(t, ferr)
	require.Equal(t, family("kdbench_nodeagent_pods"), string(body))

	require.ErrorContains(t, ScrapeInto(context.Background(), run, id, "during", c), `phase "during"`)
}
