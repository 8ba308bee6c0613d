package failover

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

type fakeProvider struct{ restarted []string }

func (p *fakeProvider) Restart(_ context.Context, cluster, comp string) error {
	p.restarted = append(p.restarted, cluster+"/"+comp)
	return nil
}
func (p *fakeProvider) Signal(context.Context, string, string, syscall.Signal) error { return nil }

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
		restarted string // what Inject restarted (hop or cluster/component)
		wantErr   string
	}{
		{name: "kd hop crash", hops: true, target: ReplicaSet, kind: Crash, wantFault: "crash kd-replicaset", restarted: "kd-replicaset"},
		{name: "kd hop stall", hops: true, target: Scheduler, kind: Stall, wantFault: "stall kd-scheduler"},
		{name: "kd node agent stall is the cluster's", hops: true, target: NodeAgent, kind: Stall, wantFault: "stall nodeagent"},
		{name: "kd node agent crash is the cluster's", hops: true, target: NodeAgent, kind: Crash, wantFault: "crash nodeagent", restarted: "c/nodeagent"},
		{name: "kd link cut", hops: true, target: Scheduler, kind: Cut, wantFault: "cut →scheduler"},
		{name: "kd link without proxy", hops: true, target: NodeAgent, kind: Cut, wantErr: "no fault proxy"},
		{name: "kd autoscaler crash", hops: true, target: Autoscaler, kind: Crash, wantFault: "crash kd-autoscaler", restarted: "kd-autoscaler"},
		{name: "kd autoscaler stall", hops: true, target: Autoscaler, kind: Stall, wantErr: "runs inside kdbench"},
		{name: "kd autoscaler cut", hops: true, target: Autoscaler, kind: Cut, wantErr: "no link leads into"},
		{name: "kd API server", hops: true, target: APIServer, kind: Crash, wantFault: "crash kube-apiserver", restarted: "c/kube-apiserver"},
		{name: "k8s replicaset is the KCM", target: ReplicaSet, kind: Crash, wantFault: "crash kube-controller-manager", restarted: "c/kube-controller-manager"},
		{name: "k8s scheduler stall", target: Scheduler, kind: Stall, wantFault: "stall kube-scheduler"},
		{name: "k8s node agent", target: NodeAgent, kind: Crash, wantFault: "crash nodeagent", restarted: "c/nodeagent"},
		{name: "k8s has no links", target: Scheduler, kind: Cut, wantErr: "no Kubedirect links"},
		{name: "k8s has no autoscaler", target: Autoscaler, kind: Crash, wantErr: "no process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sys any = struct{}{}
			hops := &fakeHops{proxy: proxy}
			if tc.hops {
				sys = hops
			}
			prov := &fakeProvider{}
			f, err := injector(sys, prov, "c", Case{System: "s", Target: tc.target, Kind: tc.kind})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantFault, f.String())
			if tc.restarted == "" {
				return
			}
			require.NoError(t, f.Inject(context.Background()))
			assert.Equal(t, []string{tc.restarted}, append(hops.restarted, prov.restarted...))
		})
	}
	_, err = injector(struct{}{}, struct{}{}, "c", Case{System: "s", Target: Scheduler, Kind: Crash})
	assert.ErrorContains(t, err, "provider cannot restart")
}
