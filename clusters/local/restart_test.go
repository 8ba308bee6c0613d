package local

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/clusters"
)

func TestRestartErrors(t *testing.T) {
	p := New(Options{Root: t.TempDir()})
	p.plans["mine"] = &plan{}
	p.procs["mine"] = []*proc{{Name: etcdComponent, PID: 0}}
	for _, tc := range []struct {
		cluster, component, want string
	}{
		{"other", apiserverComponent, "not started by this kdbench process"},
		{"mine", "kubelet", `no component "kubelet"`},
		{"mine", apiserverComponent, "not running"},
	} {
		t.Run(tc.cluster+"/"+tc.component, func(t *testing.T) {
			err := p.Restart(context.Background(), tc.cluster, tc.component)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if pid := p.PID("other", apiserverComponent); pid != 0 {
		t.Fatalf("PID of a cluster not started here: %d", pid)
	}
}

func TestReconfigureErrors(t *testing.T) {
	p := New(Options{Root: t.TempDir()})
	p.plans["mine"] = &plan{}
	w1 := clusters.Host{Name: "w1"}
	for _, tc := range []struct {
		cluster   string
		host      clusters.Host
		component string
		want      string
	}{
		{"other", Host, kcmComponent, `reconfigure kube-controller-manager: cluster "other" was not started by this kdbench process`},
		{"mine", Host, "kubelet", `reconfigure: no component "kubelet"`},
		{"mine", Host, kcmComponent, "not running"},
		{"mine", w1, nodeAgentComponent, `reconfigure nodeagent: no host "w1" in a local cluster`},
	} {
		err := reconfigurer{p, tc.cluster}.Reconfigure(context.Background(), tc.host, tc.component, []string{"--v=2"}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s/%s: got %v, want an error containing %q", tc.cluster, tc.component, err, tc.want)
		}
	}
}

func TestWithFlags(t *testing.T) {
	args := []string{"--kubeconfig=k", "--controllers=*", "--v=0"}
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{nil, "--kubeconfig=k --controllers=* --v=0"},
		{[]string{"--controllers=*,-deployment,-replicaset"}, "--kubeconfig=k --controllers=*,-deployment,-replicaset --v=0"},
		{[]string{"--concurrent-deployment-syncs=100", "--v=2"}, "--kubeconfig=k --controllers=* --v=2 --concurrent-deployment-syncs=100"},
	} {
		if got := strings.Join(WithFlags(args, tc.extra), " "); got != tc.want {
			t.Errorf("WithFlags(%v) = %s, want %s", tc.extra, got, tc.want)
		}
	}
	if args[1] != "--controllers=*" {
		t.Error("withFlags changed its input")
	}
}

// TestComponentKeepsReconfiguredFlags: a crash restart after Reconfigure
// starts the component with the reconfigured flags.
func TestComponentKeepsReconfiguredFlags(t *testing.T) {
	pl := &plan{l: layout{root: t.TempDir()}, extra: map[string][]string{kcmComponent: {"--controllers=*,-deployment,-replicaset"}}}
	c, err := pl.component(kcmComponent)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Args, "--controllers=*,-deployment,-replicaset") {
		t.Fatalf("args %v lack the reconfigured --controllers", c.Args)
	}
	if c.Dir != pl.l.ComponentDir(kcmComponent) {
		t.Fatalf("runs in %q, want its directory %q, where Reconfigure writes its files", c.Dir, pl.l.ComponentDir(kcmComponent))
	}
	s, _ := pl.component(schedComponent)
	if slices.ContainsFunc(s.Args, func(a string) bool { return strings.HasPrefix(a, "--controllers") }) {
		t.Fatal("the scheduler got the controller-manager's flag")
	}
}
