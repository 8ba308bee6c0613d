package cloudlab

import (
	"strings"
	"testing"

	"github.com/kdbench/kdbench/clusters"
)

// TestPodCIDR: each worker host's agent owns a /17 of the pod range of its
// own, which real Knative's routes name (docs/knative.md).
func TestPodCIDR(t *testing.T) {
	r := testReconfigurer(t)
	for _, tc := range []struct {
		host string
		role clusters.Role
		want string // the prefix, or the error
	}{
		{"w1", clusters.RoleWorker, "10.128.0.0/17"},
		{"w2", clusters.RoleWorker, "10.128.128.0/17"},
		{"cp", clusters.RoleControlPlane, `no component "nodeagent" on host cp`},
		{"w9", clusters.RoleWorker, `no component "nodeagent" on host w9`},
	} {
		p, err := r.PodCIDR(clusters.Host{Name: tc.host, Roles: []clusters.Role{tc.role}})
		got := p.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("PodCIDR(%s) = %s, want %q", tc.host, got, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pod-cidr=10.129.0.0/17"}, "10.129.0.0/17"},
		{[]string{"--nodes=2"}, "has no --pod-cidr flag"},
		{[]string{"--pod-cidr=ten"}, "--pod-cidr=ten"},
	} {
		p, err := podCIDRFlag(tc.args, "w1")
		got := p.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("podCIDRFlag(%q) = %s, want %q", tc.args, got, tc.want)
		}
	}
}
