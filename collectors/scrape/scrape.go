// Package scrape copies the control plane's Prometheus metrics into a run's
// results before and after each repetition (request latencies, workqueue
// depths…), and serves the harness's own kdbench_* metrics.
package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
)

// APIServer is the endpoint name of the API server, whose certificate the
// admin configuration trusts.
const APIServer = "kube-apiserver"

// Timeout bounds one component's scrape.
var Timeout = 30 * time.Second

// maxScrape bounds one component's metrics text (an API server's is a few MB).
const maxScrape = 64 << 20

// acceptText asks for the text exposition format, which is what is stored.
const acceptText = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Scrape fetches <endpoint>/metrics from every endpoint of the cluster
// (Cluster.Endpoints: kube-apiserver, kube-controller-manager,
// kube-scheduler, nodeagent on the local provider), in parallel, and
// returns each component's raw text by name. A component that does not
// answer is named in the joined error; the others are still returned.
//
// The API server is reached with the admin configuration as is. The other
// https endpoints (controller-manager and scheduler secure ports) serve
// self-signed certificates, so for them the admin credentials are sent
// without verifying the server; http endpoints (the node agent) get a plain
// client.
func Scrape(ctx context.Context, c *clusters.Cluster) (map[string][]byte, error) {
	if c == nil || c.REST == nil {
		return nil, errors.New("scrape: cluster without an admin REST configuration")
	}
	apiClient, err := rest.HTTPClientFor(c.REST)
	if err != nil {
		return nil, fmt.Errorf("scrape: admin client: %w", err)
	}
	insecure := rest.CopyConfig(c.REST)
	insecure.Insecure, insecure.CAData, insecure.CAFile = true, nil, ""
	selfSigned, err := rest.HTTPClientFor(insecure)
	if err != nil {
		return nil, fmt.Errorf("scrape: admin client without server verification: %w", err)
	}
	byScheme := map[string]*http.Client{"https": selfSigned, "http": {}}

	names := make([]string, 0, len(c.Endpoints))
	for n := range c.Endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = map[string][]byte{}
		errs = make([]error, len(names))
	)
	for i, name := range names {
		u, err := url.Parse(c.Endpoints[name])
		if err != nil || u.Host == "" {
			errs[i] = fmt.Errorf("scraping %s: endpoint %q is not a URL", name, c.Endpoints[name])
			continue
		}
		client := byScheme[u.Scheme]
		if name == APIServer {
			client = apiClient
		}
		if client == nil {
			errs[i] = fmt.Errorf("scraping %s: endpoint %q: scheme %q is neither http nor https", name, c.Endpoints[name], u.Scheme)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := get(ctx, client, u.JoinPath("metrics").String())
			if err != nil {
				errs[i] = fmt.Errorf("scraping %s: %w", name, err)
				return
			}
			mu.Lock()
			out[name] = body
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func get(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptText)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrape+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, bytes.TrimSpace(body))
	}
	if len(body) > maxScrape {
		return nil, fmt.Errorf("GET %s: more than %d MiB of metrics", u, maxScrape>>20)
	}
	return body, nil
}

// Phases of a repetition at which ScrapeInto is called.
const (
	Before = "before"
	After  = "after"
)

// ScrapeInto scrapes the cluster and writes each component's text into the
// run's metrics directory as results.MetricsFileName(id, phase, component).
// Components that failed are in the joined error; the others are written.
func ScrapeInto(ctx context.Context, run *results.Run, id results.RepID, phase string, c *clusters.Cluster) error {
	if phase != Before && phase != After {
		return fmt.Errorf("scrape: phase %q: want %q or %q", phase, Before, After)
	}
	got, err := Scrape(ctx, c)
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if werr := run.WriteMetrics(results.MetricsFileName(id, phase, name), bytes.NewReader(got[name])); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}
