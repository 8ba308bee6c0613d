package local

import (
	"strings"
	"testing"
)

// The hosts' components are the local cluster's, listening on the given
// addresses, with each worker's agent serving its own share and ranges.
func TestHostPlan(t *testing.T) {
	h := HostPlan{Name: "tb", Root: "/opt/kdbench/cluster", BinDir: "/opt/kdbench/k8s", Self: "/usr/local/bin/kdbench",
		ControlPlane: "10.77.1.10", Workers: []string{"10.77.1.11", "10.77.1.12", "10.77.1.13"}, Nodes: 8, QPSProfile: "tuned"}
	cp, err := h.ControlPlaneProcesses()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, url, arg string }{
		{"etcd", "http://10.77.1.10:2379/kdbench/readyz", "--listen-client-url=http://10.77.1.10:2379"},
		{"kube-apiserver", "https://10.77.1.10:6443/readyz", "--bind-address=10.77.1.10"},
		{"kube-controller-manager", "https://10.77.1.10:10257/healthz", "--concurrent-replicaset-syncs=100"},
		{"kube-scheduler", "https://10.77.1.10:10259/healthz", "--config=/opt/kdbench/cluster/config/kube-scheduler.yaml"},
	}
	if len(cp) != len(want) {
		t.Fatalf("%d control-plane processes, want %d", len(cp), len(want))
	}
	for i, w := range want {
		p := cp[i]
		if p.Name != w.name || p.HealthURL != w.url || !contains(p.Args, w.arg) {
			t.Errorf("process %d = %s %s %v, want %s %s with %s", i, p.Name, p.HealthURL, p.Args, w.name, w.url, w.arg)
		}
		for _, a := range p.Args {
			if strings.Contains(a, "127.0.0.1") {
				t.Errorf("%s listens on loopback: %s", p.Name, a)
			}
		}
	}
	for i, tc := range []struct{ nodes, pod, ips string }{
		{"--nodes=3", "--pod-cidr=10.128.0.0/17", "--node-ip-range=172.16.0.0/20"},
		{"--nodes=3", "--pod-cidr=10.128.128.0/17", "--node-ip-range=172.16.16.0/20"},
		{"--nodes=2", "--pod-cidr=10.129.0.0/17", "--node-ip-range=172.16.32.0/20"},
	} {
		p, err := h.NodeAgentProcess(i, "w"+string(rune('1'+i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{tc.nodes, tc.pod, tc.ips, "--metrics-addr=" + h.Workers[i] + ":10250", "--node-name-prefix=w" + string(rune('1'+i)) + "-"} {
			if !contains(p.Args, a) {
				t.Errorf("agent %d: no %s in %v", i, a, p.Args)
			}
		}
	}
	for _, bad := range []HostPlan{
		{ControlPlane: "cp", Workers: []string{"x"}, Nodes: 1},
		{ControlPlane: "10.0.0.1", Nodes: 1},
		{ControlPlane: "10.0.0.1", Workers: []string{"10.0.0.2"}, Nodes: 129},
	} {
		if _, err := bad.ControlPlaneProcesses(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
