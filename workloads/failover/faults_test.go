package failover

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/fault"
)

type fakeHops struct {
	restarted []string
	proxy     *fault.Proxy
}

func (f *fakeHops) Restart(_ context.Context, name string) error {
	f.restarted = append(f.restarted, name)
	return nil
}
func (f *fakeHops) Signal(context.Context, string, syscall.Signal) error { return nil }
func (f *fakeHops) Link(hop string) *fault.Proxy {
	if hop == "scheduler" {
		return f.proxy
	}
	return nil
}

// fakeCrasher records what it crashed, as host/component.
type fakeCrasher struct{ restarted []string }

func (p *fakeCrasher) Crash(_ context.Context, h clusters.Host, comp string) error {
	p.restarted = append(p.restarted, h.Name+"/"+comp)
	return nil
}
func (p *fakeCrasher) Signal(context.Context, clusters.Host, string, syscall.Signal) error {
	return nil
}

type fakePlacer []clusters.Host

func (p fakePlacer) Hosts() []clusters.Host { return p }
func (fakePlacer) Start(context.Context, clusters.Host, clusters.Component) (clusters.Process, error) {
	return nil, nil
}

// fakeProvider refuses crashes before the cluster is up when refusal is set.
type fakeProvider struct{ refusal string }

func (fakeProvider) Name() string                        { return "fake" }
func (p fakeProvider) CrashRefusal(clusters.Spec) string { return p.refusal }

func TestInjectorMapsTargets(t *testing.T) {
	proxy, err := fault.NewProxy("127.0.0.1:0", "127.0.0.1:1")
	require.NoError(t, err)
	defer proxy.Close()
	for _, tc := range []struct {
		name      string
		hops      bool
		target    Target
		kind      Kind
		wantFault string // String() of the injector
		restarted string // what Inject restarted (hop or host/component)
		wantErr   string
	}{
		{name: "kd hop crash", hops: true, target: ReplicaSet, kind: Crash, wantFault: "crash kd-replicaset", restarted: "kd-replicaset"},
		{name: "kd hop stall", hops: true, target: Scheduler, kind: Stall, wantFault: "stall kd-scheduler"},
		{name: "kd node agent stall is the cluster's", hops: true, target: NodeAgent, kind: Stall, wantFault: "stall nodeagent"},
		{name: "kd node agent crash is the cluster's", hops: true, target: NodeAgent, kind: Crash, wantFault: "crash nodeagent", restarted: "cp/nodeagent"},
		{name: "kd link cut", hops: true, target: Scheduler, kind: Cut, wantFault: "cut →scheduler"},
		{name: "kd link without proxy", hops: true, target: NodeAgent, kind: Cut, wantErr: "no fault proxy"},
		{name: "kd autoscaler crash", hops: true, target: Autoscaler, kind: Crash, wantFault: "crash kd-autoscaler", restarted: "kd-autoscaler"},
		{name: "kd autoscaler stall", hops: true, target: Autoscaler, kind: Stall, wantErr: "runs inside kdbench"},
		{name: "kd autoscaler cut", hops: true, target: Autoscaler, kind: Cut, wantErr: "no link leads into"},
		{name: "kd API server", hops: true, target: APIServer, kind: Crash, wantFault: "crash kube-apiserver", restarted: "cp/kube-apiserver"},
		{name: "k8s replicaset is the KCM", target: ReplicaSet, kind: Crash, wantFault: "crash kube-controller-manager", restarted: "cp/kube-controller-manager"},
		{name: "k8s scheduler stall", target: Scheduler, kind: Stall, wantFault: "stall kube-scheduler"},
		{name: "k8s node agent", target: NodeAgent, kind: Crash, wantFault: "crash nodeagent", restarted: "cp/nodeagent"},
		{name: "k8s has no links", target: Scheduler, kind: Cut, wantErr: "no Kubedirect links"},
		{name: "k8s has no autoscaler", target: Autoscaler, kind: Crash, wantErr: "no process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sys any = struct{}{}
			hops := &fakeHops{proxy: proxy}
			if tc.hops {
				sys = hops
			}
			cr := &fakeCrasher{}
			c := &clusters.Cluster{Name: "c", Crasher: cr, Placer: fakePlacer{cpHost}}
			cs := Case{System: "s", Target: tc.target, Kind: tc.kind}
			_, preErr := injector(sys, fakeProvider{}, site{}, cs)
			f, err := injector(sys, fakeProvider{}, site{cluster: c}, cs)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, preErr, tc.wantErr, "preflight refuses it too")
				return
			}
			require.NoError(t, err)
			require.NoError(t, preErr)
			assert.Equal(t, tc.wantFault, f.String())
			if tc.restarted == "" {
				return
			}
			require.NoError(t, f.Inject(context.Background()))
			assert.Equal(t, []string{tc.restarted}, append(hops.restarted, cr.restarted...))
		})
	}
}

var cpHost = clusters.Host{Name: "cp", Roles: []clusters.Role{clusters.RoleControlPlane, clusters.RoleWorker}}

// On a cluster of several hosts the controllers' faults go to the
// control-plane host and the node agent's to the first worker host; a
// provider that cannot is refused before the cluster is up (ProviderCannot)
// and a cluster without a Crasher once it is.
func TestInjectorHostsAndRefusals(t *testing.T) {
	cr := &fakeCrasher{}
	hosts := fakePlacer{
		{Name: "cp", Roles: []clusters.Role{clusters.RoleControlPlane}},
		{Name: "w1", Roles: []clusters.Role{clusters.RoleWorker}},
		{Name: "w2", Roles: []clusters.Role{clusters.RoleWorker}},
	}
	c := &clusters.Cluster{Name: "c", Crasher: cr, Placer: hosts}
	for _, tc := range []struct {
		target     Target
		want, hits string
	}{
		{Scheduler, "crash kube-scheduler on cp", "cp/kube-scheduler"},
		{NodeAgent, "crash nodeagent on w1", "w1/nodeagent"},
	} {
		f, err := injector(struct{}{}, fakeProvider{}, site{cluster: c}, Case{System: "s", Target: tc.target, Kind: Crash})
		require.NoError(t, err)
		assert.Equal(t, tc.want, f.String())
		cr.restarted = nil
		require.NoError(t, f.Inject(context.Background()))
		assert.Equal(t, []string{tc.hits}, cr.restarted)
	}

	cs := Case{System: "s", Target: Scheduler, Kind: Crash}
	for name, prov := range map[string]any{
		"no word":  struct{}{},
		"refusing": fakeProvider{refusal: "its control plane is kubeadm's"},
	} {
		_, err := injector(struct{}{}, prov, site{}, cs)
		assert.ErrorAs(t, err, new(ProviderCannot), name)
		assert.ErrorContains(t, err, "provider cannot restart", name)
	}
	_, err := injector(struct{}{}, fakeProvider{refusal: "its control plane is kubeadm's"}, site{}, cs)
	assert.ErrorContains(t, err, "its control plane is kubeadm's")
	_, err = injector(struct{}{}, fakeProvider{}, site{cluster: &clusters.Cluster{Name: "c", Placer: hosts}}, cs)
	assert.ErrorAs(t, err, new(ProviderCannot), "a cluster without a Crasher")
	_, err = injector(struct{}{}, fakeProvider{}, site{cluster: &clusters.Cluster{Name: "c", Crasher: cr}}, cs)
	assert.ErrorContains(t, err, "no inventory of its hosts")
}
