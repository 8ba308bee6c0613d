package knative

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/k8s"
	"github.com/kdbench/kdbench/clusters"
)

// provider is a provider that may tell whether its cluster is made of
// kdbench's own processes (CrashRefusal).
type provider struct {
	clusters.Provider
	name string
	// crash: nil for a provider without CrashRefusal, else its answer.
	crash *string
}

func (p provider) Name() string { return p.name }

type crashRefusing struct{ provider }

func (p crashRefusing) CrashRefusal(clusters.Spec) string { return *p.crash }

func prov(name string, crash *string) clusters.Provider {
	if crash == nil {
		return provider{name: name}
	}
	return crashRefusing{provider{name: name, crash: crash}}
}

func str(s string) *string { return &s }

// TestRealRefuses: kn-k8s and kn-kd run real Knative on clusters of
// kdbench's own processes only (local, a cloudlab process control plane),
// and need their Reconfigurer (the node agents serve Knative's pods) and,
// on more than one host, their host administration (routes for the pods);
// elsewhere they refuse with the reason and the model to use, before
// anything is installed.
func TestRealRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster *clusters.Cluster
		want    []string
	}{
		{"kn-k8s on kubeadm", &clusters.Cluster{Name: "c", Provider: "cloudlab", ReconfigureRefusal: "its workers run kubeadm's kubelets"},
			[]string{`kn-k8s: cluster "c" (provider cloudlab) cannot restart its node agents, which must serve Knative's pods: its workers run kubeadm's kubelets`}},
		{"kn-k8s on a cluster without host administration", &clusters.Cluster{Name: "c", Provider: "existing", Reconfigurer: &recordReconf{}},
			[]string{"kn-k8s runs real Knative Serving only on clusters of kdbench's own processes", `cluster "c" cannot place Knative's components`, "use kn-model there"}},
		{"kn-k8s without a Reconfigurer", &clusters.Cluster{Name: "c", Provider: "local"}, []string{`cluster "c" (provider local) cannot restart its node agents`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := baselines.Get(strings.Fields(tc.name)[0])
			require.NoError(t, err)
			err = s.Prepare(context.Background(), baselines.Env{Cluster: tc.cluster})
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			require.True(t, baselines.IsRefusal(err), "%v is a refusal", err)
			require.NoError(t, s.Teardown(context.Background(), baselines.Env{Cluster: tc.cluster}))
		})
	}
	for _, tc := range []struct {
		name string
		p    clusters.Provider
		want string // in the refusal; "" none
	}{
		{"local", prov("local", nil), ""},
		{"cloudlab processes", prov("cloudlab", str("")), ""},
		{"existing with a process control plane's hosts file", prov("existing", str("")), ""},
		{"cloudlab kubeadm", prov("cloudlab", str("kubeadm's control plane runs as static pods")),
			"this cloudlab cluster is not one: kubeadm's control plane runs as static pods. Where a cluster runs Knative Serving 1.15 itself (the CloudLab bootstrap's, on kubeadm), kn-k8s drives that instead; kn-kd cannot"},
		{"existing without hosts file", prov("existing", str("no hosts.json beside the kubeconfig")), "this existing cluster is not one: no hosts.json"},
		{"a provider that cannot tell", prov("other", nil), "this other cluster is not one: it does not run the cluster's control plane and node agents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewReal(RealKd, nil).RefuseProvider(tc.p, clusters.Spec{})
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "use kn-model-kd there")
			require.NoError(t, NewReal(RealK8s, nil).RefuseProvider(tc.p, clusters.Spec{}), "kn-k8s may find the cluster's own Knative in Prepare")
		})
	}
	_, err := NewReal(RealK8s, k8s.New("k8s", 0)).StartFrontEnd(context.Background(), baselines.Env{}, "ns", []string{"fn0"})
	require.ErrorContains(t, err, "after Prepare")
}

type recordReconf struct{ calls []string }

func (r *recordReconf) Reconfigure(_ context.Context, h clusters.Host, component string, extra []string, _ []clusters.File) error {
	r.calls = append(r.calls, h.Name+": "+component+" "+strings.Join(extra, " "))
	return nil
}

// TestKeepFlags: while kn-kd is prepared, kd's restarts of the node agent
// (direct mode, and its restore) keep the flags Knative's pods need; other
// components' pass unchanged.
func TestKeepFlags(t *testing.T) {
	r := &recordReconf{}
	k := keepFlags{inner: r, component: nodeAgent, flags: []string{"--function-sandboxes", "--pod-netns=/run/netns/p"}}
	ctx := context.Background()
	cp, w1 := clusters.Host{Name: "cp"}, clusters.Host{Name: "w1"}
	require.NoError(t, k.Reconfigure(ctx, cp, "kube-controller-manager", []string{"--controllers=*,-deployment"}, nil))
	direct := []string{"--direct-listen=127.0.0.1:0"}
	require.NoError(t, k.Reconfigure(ctx, w1, nodeAgent, direct, nil))
	require.NoError(t, k.Reconfigure(ctx, w1, nodeAgent, nil, nil))
	require.Equal(t, []string{
		"cp: kube-controller-manager --controllers=*,-deployment",
		"w1: nodeagent --direct-listen=127.0.0.1:0 --function-sandboxes --pod-netns=/run/netns/p",
		"w1: nodeagent --function-sandboxes --pod-netns=/run/netns/p",
	}, r.calls)
	require.Equal(t, []string{"--direct-listen=127.0.0.1:0"}, direct, "the caller's flags are not changed")
}

// fakeAdmin records the root scripts run on each host, failing on one.
type fakeAdmin struct {
	cidrs   map[string]string
	failOn  string
	scripts []string
}

func (f *fakeAdmin) PodCIDR(h clusters.Host) (netip.Prefix, error) {
	c, ok := f.cidrs[h.Name]
	if !ok {
		return netip.Prefix{}, fmt.Errorf("no node agent on %s", h.Name)
	}
	return netip.MustParsePrefix(c), nil
}

func (f *fakeAdmin) RunRoot(_ context.Context, h clusters.Host, script string) (string, error) {
	f.scripts = append(f.scripts, h.Name+": "+strings.ReplaceAll(strings.TrimSpace(script), "\n", "; "))
	if h.Name == f.failOn {
		return "", fmt.Errorf("on %s: RTNETLINK answers: Operation not permitted", h.Name)
	}
	return "", nil
}

func (f *fakeAdmin) Install(context.Context, clusters.Host, string, string) error { return nil }

// TestPodRoutes: each worker's agent's pod range is made local on it and
// routed to it from the control-plane host, all marked with kdbench's
// protocol; removal flushes them from every host touched, also after a
// failure halfway.
func TestPodRoutes(t *testing.T) {
	cp := clusters.Host{Name: "cp", Addr: "10.77.1.10"}
	w1 := clusters.Host{Name: "w1", Addr: "10.77.1.11"}
	w2 := clusters.Host{Name: "w2", Addr: "10.77.1.12"}
	flush := "ip route flush table local proto 176; ip route flush proto 176"
	for _, tc := range []struct {
		name       string
		cidrs      map[string]string
		failOn     string
		wantErr    string
		wantAdd    []string
		wantRemove []string
	}{
		{name: "two workers", cidrs: map[string]string{"w1": "10.128.0.0/17", "w2": "10.128.128.0/17"},
			wantAdd: []string{
				"w1: " + flush + "; ip route replace local 10.128.0.0/17 dev lo proto 176",
				"w2: " + flush + "; ip route replace local 10.128.128.0/17 dev lo proto 176",
				"cp: " + flush + "; ip route replace 10.128.0.0/17 via 10.77.1.11 proto 176; ip route replace 10.128.128.0/17 via 10.77.1.12 proto 176",
			},
			wantRemove: []string{"w1: " + flush, "w2: " + flush, "cp: " + flush}},
		{name: "a worker refuses", cidrs: map[string]string{"w1": "10.128.0.0/17", "w2": "10.128.128.0/17"}, failOn: "w2",
			wantErr:    "making the node agent's pod range 10.128.128.0/17 local on w2: on w2: RTNETLINK answers",
			wantRemove: []string{"w1: " + flush, "w2: " + flush}},
		{name: "overlapping ranges", cidrs: map[string]string{"w1": "10.128.0.0/17", "w2": "10.128.0.0/16"},
			wantErr: "the pod ranges of w1 (10.128.0.0/17) and w2 (10.128.0.0/16) overlap"},
		{name: "a worker without an agent", cidrs: map[string]string{"w1": "10.128.0.0/17"}, wantErr: "no node agent on w2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeAdmin{cidrs: tc.cidrs, failOn: tc.failOn}
			r := &podRoutes{admin: a, cp: cp}
			err := r.add(context.Background(), []clusters.Host{w1, w2})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.wantAdd, a.scripts)
			}
			a.scripts, a.failOn = nil, ""
			require.NoError(t, r.remove(context.Background()))
			require.Equal(t, tc.wantRemove, a.scripts)
		})
	}
}

// TestLeaveForRestore: the deletion stops 2 minutes before the tear-down's
// deadline, or halfway to a nearer one; without a deadline it has none.
func TestLeaveForRestore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		left  time.Duration // until the tear-down's deadline; 0 none
		want  time.Duration // until the deletion's
		slack time.Duration
	}{
		{"far", 10 * time.Minute, 8 * time.Minute, time.Second},
		{"near", 2 * time.Minute, time.Minute, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.left)
			defer cancel()
			d, dcancel := leaveForRestore(ctx)
			defer dcancel()
			dl, ok := d.Deadline()
			require.True(t, ok)
			require.InDelta(t, tc.want.Seconds(), time.Until(dl).Seconds(), tc.slack.Seconds())
		})
	}
	d, cancel := leaveForRestore(context.Background())
	defer cancel()
	_, ok := d.Deadline()
	require.False(t, ok)
}
