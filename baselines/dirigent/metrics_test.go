package dirigent

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMetrics(t *testing.T) {
	cfg := fastConfig(2)
	cfg.DispatchTimeout = 50 * time.Millisecond
	d := start(t, cfg)
	ctx := context.Background()
	for _, fn := range []Function{{Name: "auto", Autoscale: true}, {Name: "pinned"}} {
		if err := d.Register(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Call(ctx, "auto", Call{ID: "a", RuntimeUs: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Call(ctx, "pinned", Call{ID: "b"}); err == nil {
		t.Fatal("a call of a function pinned at zero sandboxes succeeded")
	}
	_, _ = d.Call(ctx, "nope", Call{ID: "c"})

	eps := d.MetricsEndpoints()
	cp, dp := scrape(t, eps["dirigent-controlplane"]), scrape(t, eps["dirigent-dataplane-0"])
	for _, tc := range []struct{ text, line string }{
		{cp, "dirigent_sandbox_creations_total 1"},
		{cp, "dirigent_sandbox_creation_duration_seconds_count 1"},
		{cp, "dirigent_functions 2"},
		{cp, "dirigent_workers 2"},
		{dp, `dirigent_invocations_total{outcome="completed"} 1`},
		{dp, `dirigent_invocations_total{outcome="dispatch_timeout"} 1`},
		{dp, `dirigent_invocations_total{outcome="unknown_function"} 1`},
		{dp, "dirigent_cold_starts_total 2"},
	} {
		if !strings.Contains(tc.text, tc.line+"\n") {
			t.Errorf("metrics lack %q", tc.line)
		}
	}
}
