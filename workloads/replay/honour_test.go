package replay

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/workloads/trace"
)

// realKubelets refuses a sandbox delay, as existing does on a cluster of
// real kubelets, and fails the test if anything is brought up.
type realKubelets struct{ failingProvider }

func (*realKubelets) Name() string { return "real" }
func (*realKubelets) Check(_ context.Context, spec clusters.Spec) (clusters.Spec, clusters.Refusals, error) {
	if spec.SandboxDelay > 0 {
		return spec, clusters.Refusals{{Setting: clusters.SettingSandboxDelay, Why: "real kubelets"}}, nil
	}
	return spec, nil, nil
}
func (p *realKubelets) Up(context.Context, clusters.Spec) (*clusters.Cluster, error) {
	p.ups++
	return nil, errors.New("not in this test")
}

// frontEnder is a FaaS system for the refusal only: it is never prepared.
type frontEnder struct {
	baselines.System
	name    string
	podless bool
}

func (f frontEnder) Name() string                          { return f.name }
func (f frontEnder) Podless() bool                         { return f.podless }
func (f frontEnder) Cluster(s clusters.Spec) clusters.Spec { s.SandboxDelay = 200e6; return s }
func (frontEnder) StartFrontEnd(context.Context, baselines.Env, string, []string) (FrontEnd, error) {
	return nil, errors.New("not in this test")
}

// A replay whose systems the provider refuses stops before any cluster or
// results directory; a podless system (dirigent) is not refused for the
// nodes' sandbox delay.
func TestReplayRefusesBeforeStarting(t *testing.T) {
	tr, err := trace.Synth(trace.SynthOptions{Functions: 2, Minutes: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "trace")
	if err := tr.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		system  frontEnder
		refused bool
	}{
		{"dr-k8s+ on real kubelets", frontEnder{name: "dr-k8s+"}, true},
		{"dirigent's own daemons", frontEnder{name: "dirigent", podless: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &realKubelets{}
			root := t.TempDir()
			e := Experiment{Provider: p, Systems: []baselines.System{tc.system}, TraceDir: dir, Minutes: 2,
				ResultsRoot: root, Base: clusters.Spec{Name: "c"}, Log: io.Discard}
			_, err := e.Run(context.Background())
			if err == nil {
				t.Fatal("the replay ran without a cluster")
			}
			if got := strings.Contains(err.Error(), "dr-k8s+ refused on the real provider"); got != tc.refused {
				t.Fatalf("refused = %v, want %v: %v", got, tc.refused, err)
			}
			entries, _ := os.ReadDir(root)
			if tc.refused && (p.ups != 0 || len(entries) != 0) {
				t.Errorf("a refused replay brought up %d clusters and wrote %d entries", p.ups, len(entries))
			}
			if !tc.refused && p.ups == 0 {
				t.Errorf("an honoured replay did not ask for its cluster: %v", err)
			}
		})
	}
}
