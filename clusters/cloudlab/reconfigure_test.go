package cloudlab

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/clusters"
)

func testReconfigurer(t *testing.T) *Reconfigurer {
	t.Helper()
	inv := Inventory{Nodes: []Node{
		{Name: "cp", Role: RoleControlPlane, IP: "10.10.1.1"},
		{Name: "w1", Role: RoleWorker, IP: "10.10.1.2"},
		{Name: "w2", Role: RoleWorker, IP: "10.10.1.3"},
	}}
	hp, err := hostPlan(inv, clusters.Spec{Name: "c", Nodes: 4})
	if err != nil {
		t.Fatal(err)
	}
	return NewReconfigurer(NewPlacer(inv, nil, "placed"), hp)
}

// TestReconfigurerComponents: each host has its own components; a worker's
// agent is that host's (its node names), not another's.
func TestReconfigurerComponents(t *testing.T) {
	r := testReconfigurer(t)
	host := func(name string, role clusters.Role) clusters.Host {
		return clusters.Host{Name: name, Roles: []clusters.Role{role}}
	}
	for _, tc := range []struct {
		host      clusters.Host
		component string
		want      string // an argument of its command line, or the error
	}{
		{host("cp", clusters.RoleControlPlane), "kube-controller-manager", "--kubeconfig=/opt/kdbench/cluster/kubeconfigs/kube-controller-manager.kubeconfig"},
		{host("w2", clusters.RoleWorker), "nodeagent", "--node-name-prefix=w2-"},
		{host("w1", clusters.RoleWorker), "nodeagent", "--node-name-prefix=w1-"},
		{host("cp", clusters.RoleControlPlane), "nodeagent", `no component "nodeagent" on host cp`},
		{host("w1", clusters.RoleWorker), "kube-controller-manager", `no component "kube-controller-manager" on host w1`},
		{host("w9", clusters.RoleWorker), "nodeagent", `no component "nodeagent" on host w9`},
	} {
		pr, err := r.process(tc.host, tc.component)
		got := strings.Join(pr.Args, " ")
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s on %s: %s, want %q", tc.component, tc.host.Name, got, tc.want)
		}
	}
}

func TestRestartScript(t *testing.T) {
	r := testReconfigurer(t)
	pr, err := r.process(clusters.Host{Name: "w1", Roles: []clusters.Role{clusters.RoleWorker}}, "nodeagent")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"internal", "nodeagent", "--metrics-addr=10.10.1.2:10250"}
	files := []clusters.File{{Path: "link/hop.key", Data: []byte("KEY")}}
	s, err := restartScript(pr, r.hp, args, []string{"--direct-listen=10.10.1.2:17406", "--tls-key=link/hop.key"}, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cd /opt/kdbench/cluster/components/nodeagent\n",
		"base64 -d > '/opt/kdbench/cluster/components/nodeagent/link/hop.key'",
		base64.StdEncoding.EncodeToString([]byte("KEY")),
		"chmod 600 '/opt/kdbench/cluster/components/nodeagent/link/hop.key'",
		"'internal' 'nodeagent' '--metrics-addr=10.10.1.2:10250' '--direct-listen=10.10.1.2:17406' '--tls-key=link/hop.key'",
		"echo $! > /opt/kdbench/cluster/run/nodeagent.pid",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the direct-mode restart lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "nodeagent.argv") {
		t.Errorf("a reconfiguration removes the saved command line:\n%s", s)
	}
	restore, err := restartScript(pr, r.hp, args, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cd /opt/kdbench/cluster/run\n", "'internal' 'nodeagent' '--metrics-addr=10.10.1.2:10250' >>", "rm -f /opt/kdbench/cluster/run/nodeagent.argv"} {
		if !strings.Contains(restore, want) {
			t.Errorf("the restore lacks %q:\n%s", want, restore)
		}
	}
	for _, tc := range []struct {
		extra []string
		files []clusters.File
		want  string
	}{
		{[]string{"--x"}, []clusters.File{{Path: "../etc/passwd"}}, "want a path inside the component's directory"},
		{[]string{"--x"}, []clusters.File{{Path: "/etc/passwd"}}, "want a path inside the component's directory"},
		{nil, files, "a restore takes none"},
	} {
		if _, err := restartScript(pr, r.hp, args, tc.extra, tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("restartScript(%q, %v) = %v, want %q", tc.extra, tc.files, err, tc.want)
		}
	}
}
