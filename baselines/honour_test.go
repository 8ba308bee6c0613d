package baselines

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/clusters"
)

type fakeSystem struct {
	System
	name    string
	podless bool
}

func (s fakeSystem) Name() string  { return s.name }
func (s fakeSystem) Podless() bool { return s.podless }

// localOnly runs on the local provider only (as real Knative does).
type localOnly struct{ fakeSystem }

func (s localOnly) RefuseProvider(p clusters.Provider, _ clusters.Spec) error {
	if p.Name() == "local" {
		return nil
	}
	return errors.New(s.name + " runs on the local cluster only")
}

// checker refuses a sandbox delay and a QPS profile, or cannot tell.
type checker struct {
	clusters.Provider
	err error
}

func (checker) Name() string { return "attached" }
func (c checker) Check(_ context.Context, spec clusters.Spec) (clusters.Spec, clusters.Refusals, error) {
	spec.QPSProfile = "tuned"
	return spec, clusters.Refusals{
		{Setting: clusters.SettingSandboxDelay, Why: "real kubelets"},
		{Setting: clusters.SettingQPSProfile, Why: "flags differ"},
	}[:refusals(spec)], c.err
}

// refusals: the delay refusal only when a delay is asked.
func refusals(spec clusters.Spec) int {
	if spec.SandboxDelay > 0 {
		return 2
	}
	return 0
}

func TestHonour(t *testing.T) {
	plus := clusters.Spec{Name: "c", SandboxDelay: 200 * time.Millisecond}
	for _, tc := range []struct {
		name    string
		prov    clusters.Provider
		spec    clusters.Spec
		systems []System
		want    []string // in the error; none: honoured
	}{
		{"honoured, profile completed", checker{}, clusters.Spec{Name: "c"}, []System{fakeSystem{name: "k8s"}}, nil},
		{"every refusal, naming the systems", checker{}, plus, []System{fakeSystem{name: "k8s+"}, fakeSystem{name: "dr-k8s+"}},
			[]string{"k8s+, dr-k8s+ refused on the attached provider (cluster \"c\")", "sandbox delay: real kubelets", "QPS profile: flags differ"}},
		{"podless systems need no sandbox delay from the nodes", checker{}, plus, []System{fakeSystem{name: "dirigent", podless: true}},
			[]string{"dirigent refused", "QPS profile: flags differ"}},
		{"a system bound to another provider, before the provider is asked", checker{err: errors.New("not asked")}, clusters.Spec{Name: "c"}, []System{fakeSystem{name: "k8s"}, localOnly{fakeSystem{name: "kn-k8s"}}},
			[]string{"k8s, kn-k8s refused on the attached provider: kn-k8s runs on the local cluster only"}},
		{"a provider that cannot tell", checker{err: errors.New("does not answer")}, plus, []System{fakeSystem{name: "k8s"}},
			[]string{"k8s on the attached provider: does not answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := Honour(context.Background(), tc.prov, tc.spec, tc.systems)
			if len(tc.want) == 0 {
				if err != nil || spec.QPSProfile != "tuned" {
					t.Fatalf("Honour = %+v, %v; want the spec completed with the cluster's profile", spec, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Honour accepted a refused spec")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.systems[0].Name() == "dirigent" && strings.Contains(err.Error(), "sandbox delay") {
				t.Errorf("dirigent refused for the nodes' sandbox delay: %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	spec := clusters.Spec{Name: "c", QPSProfile: "tuned", SandboxDelay: 200 * time.Millisecond, Nodes: 500, NodesExact: true}
	good := &clusters.Cluster{Name: "c", Provider: "p", QPSProfile: "tuned", SandboxDelay: 200 * time.Millisecond, Nodes: 500}
	if err := Verify(spec, good, []System{fakeSystem{name: "k8s+"}}); err != nil {
		t.Fatalf("Verify of an honoured spec: %v", err)
	}
	bad := &clusters.Cluster{Name: "c", Provider: "p", QPSProfile: "default", Nodes: 3}
	err := Verify(spec, bad, []System{fakeSystem{name: "k8s+"}})
	for _, w := range []string{"sandbox delay: asked for 200ms", `QPS profile: asked for "tuned", cluster c (p) runs "default"`, "node count: asked for 500 nodes, cluster c (p) has 3 Ready"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Verify = %v, want it to say %q", err, w)
		}
	}
	spec.NodesExact = false
	spec.SandboxDelay, spec.QPSProfile = 0, ""
	if err := Verify(spec, bad, []System{fakeSystem{name: "k8s"}}); err != nil {
		t.Errorf("Verify without an exact node count or a profile asked: %v", err)
	}
}
