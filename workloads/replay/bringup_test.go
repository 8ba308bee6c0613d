package replay

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/clusters"
)

// failingProvider never brings a cluster up; it counts the attempts.
type failingProvider struct{ ups int }

func (p *failingProvider) Name() string { return "failing" }
func (p *failingProvider) Up(context.Context, clusters.Spec) (*clusters.Cluster, error) {
	p.ups++
	return nil, errors.New("nodes not Ready after 1m0s")
}
func (p *failingProvider) Down(context.Context, string) error { return nil }
func (p *failingProvider) Status(context.Context, string) (*clusters.Status, error) {
	return &clusters.Status{}, nil
}

// TestClusterStartIsRetriedOnce: a group whose cluster does not come up is
// tried once more before the replay gives up on it, and not at all more once
// the run is cancelled.
func TestClusterStartIsRetriedOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cancelled bool
		wantUps   int
	}{
		{"transient failure", false, 2},
		{"cancelled run", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &failingProvider{}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancelled {
				cancel()
			} else {
				defer cancel()
			}
			var log strings.Builder
			e := Experiment{Provider: p, Log: io.Writer(&log)}
			err := e.runGroup(ctx, specGroup{spec: clusters.Spec{Name: "c", Nodes: 4}}, nil, nil)
			if err == nil || !strings.Contains(err.Error(), "nodes not Ready") {
				t.Fatalf("runGroup = %v, want the start-up error", err)
			}
			if p.ups != tc.wantUps {
				t.Fatalf("%d attempts to bring the cluster up, want %d (log: %q)", p.ups, tc.wantUps, log.String())
			}
		})
	}
}
