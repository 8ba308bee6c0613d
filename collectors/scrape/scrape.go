// Package scrape copies the control plane's Prometheus metrics into a run's
// results before and after each repetition, and serves the harness's own.
package scrape

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
)

// maxScrape bounds one component's metrics text.
const maxScrape = 64 << 20

// Scrape fetches /metrics from every endpoint of the cluster. A component
// that does not answer is named in the error; the others are still returned.
func Scrape(ctx context.Context, c *clusters.Cluster) (map[string][]byte, error) {
	apiClient, err := rest.HTTPClientFor(c.REST)
	if err != nil {
		return nil, err
	}
	// The controller-manager and scheduler serve self-signed certificates
	// on loopback and authorise the admin's client certificate.
	tlsCfg, err := rest.TLSConfigFor(c.REST)
	if err != nil {
		return nil, err
	}
	var selfSigned *http.Client
	if tlsCfg != nil {
		cfg := tlsCfg.Clone()
		cfg.InsecureSkipVerify = true //nolint:gosec // loopback, self-signed
		selfSigned = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
	} else {
		selfSigned = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	}
	names := make([]string, 0, len(c.Endpoints))
	for n := range c.Endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string][]byte{}
	var errs error
	for _, name := range names {
		client := selfSigned
		switch name {
		case "kube-apiserver":
			client = apiClient
		case "nodeagent":
			client = http.DefaultClient
		}
		body, err := get(ctx, client, c.Endpoints[name]+"/metrics")
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("scraping %s: %w", name, err))
			continue
		}
		out[name] = body
	}
	return out, errs
}

func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrape))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	return body, nil
}

// ScrapeInto writes every component's scrape for one repetition and phase
// ("before" or "after") into the run's metrics directory.
func ScrapeInto(ctx context.Context, run *results.Run, id results.RepID, phase string, c *clusters.Cluster) error {
	got, errs := Scrape(ctx, c)
	for name, body := range got {
		if err := run.WriteMetrics(results.MetricsFileName(id, phase, name), bytes.NewReader(body)); err != nil {
			errs = errors.Join(errs, err)
		}
	}
	return errs
}
