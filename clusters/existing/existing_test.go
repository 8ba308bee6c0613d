package existing

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

// staticPod is a kubeadm control-plane mirror pod running command.
func staticPod(component, node string, command ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: component + "-" + node, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"component": component, "tier": "control-plane"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: component, Command: append([]string{component}, command...)}}},
	}
}

// kubeadmControlPlane is a control plane configured as profile p, with the
// flags kubeadm adds of its own.
func kubeadmControlPlane(p local.Profile) []runtime.Object {
	api := []string{"--advertise-address=10.10.1.1", "--authorization-mode=Node,RBAC", "--secure-port=6443"}
	api = append(api, flagArgs(p.APIServer)...)
	kcm := []string{"--bind-address=127.0.0.1", "--leader-elect=true"}
	kcm = append(kcm, flagArgs(p.ControllerManager)...)
	return []runtime.Object{
		staticPod(apiserver, "cp", api...),
		staticPod(controllerManager, "cp", kcm...),
		staticPod(scheduler, "cp", "--config=/etc/kubernetes/kdbench/scheduler-0123456789ab.yaml"),
	}
}

func flagArgs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, "--"+k+"="+v)
	}
	return out
}

func node(name string, labels, annotations map[string]string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

var (
	cpNode = tainted(node("cp", map[string]string{"node-role.kubernetes.io/control-plane": ""}, nil))
	realW  = func(n string) *corev1.Node { return node(n, nil, nil) }
	agentW = func(n, delay string) *corev1.Node {
		return node(n, simLabels, map[string]string{nodeagent.SandboxDelayAnnotation: delay})
	}
	simLabels = map[string]string{nodeagent.TypeLabel: nodeagent.TypeLabelValue}
)

// tainted keeps workloads off n, as kubeadm does to its control plane.
func tainted(n *corev1.Node) *corev1.Node {
	n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	return n
}

func provider(objs ...runtime.Object) Provider {
	return Provider{newClient: func(*rest.Config) (kubernetes.Interface, error) { return fake.NewSimpleClientset(objs...), nil }}
}

func kubeconfig(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.10.1.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600))
	return path
}

func TestCheck(t *testing.T) {
	tuned, dflt := kubeadmControlPlane(local.Profiles["tuned"]), kubeadmControlPlane(local.Profiles["default"])
	with := func(cp []runtime.Object, nodes ...runtime.Object) []runtime.Object {
		return append(append([]runtime.Object{cpNode}, nodes...), cp...)
	}
	realCluster := with(tuned, realW("w1"), realW("w2"), realW("w3"))
	for _, tc := range []struct {
		name        string
		objs        []runtime.Object
		spec        clusters.Spec
		wantProfile string
		want        []string // refusal texts; none: honoured
	}{
		{"profile read: tuned", realCluster, clusters.Spec{}, "tuned", nil},
		{"profile read: default", with(dflt, realW("w1")), clusters.Spec{}, "default", nil},
		{"profile given and matching", realCluster, clusters.Spec{QPSProfile: "tuned"}, "tuned", nil},
		{"profile given and contradicted", realCluster, clusters.Spec{QPSProfile: "default"}, "",
			[]string{"QPS profile: --qps-profile default contradicts the control plane", "kube-apiserver --max-requests-inflight=200000 (profile default: --max-requests-inflight unset)"}},
		{"unknown profile given", realCluster, clusters.Spec{QPSProfile: "fast"}, "", []string{`--qps-profile "fast" is not a known profile`}},
		{"no static pods, profile given", with(nil, realW("w1")), clusters.Spec{QPSProfile: "tuned"}, "tuned", nil},
		{"no static pods, nothing given", with(nil, realW("w1")), clusters.Spec{}, "",
			[]string{"QPS profile: cannot be read: no kube-apiserver pod", "pass --qps-profile"}},
		{"flags of no profile", with([]runtime.Object{staticPod(apiserver, "cp", "--max-requests-inflight=800"), staticPod(controllerManager, "cp")}, realW("w1")), clusters.Spec{}, "",
			[]string{"match no known profile", "--max-requests-inflight=800"}},
		{"k8s+ on real kubelets", realCluster, clusters.Spec{SandboxDelay: 200 * time.Millisecond}, "tuned",
			[]string{"sandbox delay: 200ms asked for, but the 3 Ready workers of cluster c are not served by kdbench's node agents"}},
		{"k8s+ on agents at 200ms", with(tuned, agentW("a1", "200ms"), agentW("a2", "200ms")), clusters.Spec{SandboxDelay: 200 * time.Millisecond}, "tuned", nil},
		{"k8s on agents at 200ms", with(tuned, agentW("a1", "200ms")), clusters.Spec{}, "tuned",
			[]string{"sandbox delay: 0s asked for, but the node agents of cluster c run with 200ms (annotation kdbench.io/sandbox-delay on node a1)"}},
		{"agents that do not say", with(tuned, node("a1", simLabels, nil)), clusters.Spec{}, "tuned", []string{"does not record its sandbox delay"}},
		{"agents that disagree", with(tuned, agentW("a1", "0s"), agentW("a2", "200ms")), clusters.Spec{}, "tuned", []string{"different sandbox delays: [0s (node a1) 200ms (node a2)]"}},
		{"agents mixed with kubelets", with(tuned, agentW("a1", "0s"), realW("w1")), clusters.Spec{}, "tuned", []string{"mixes 1 workers served by kdbench's node agents with 1 that are not (e.g. node w1)"}},
		{"scale-nodes on the nodes there are", realCluster, clusters.Spec{Nodes: 3, NodesExact: true}, "tuned", nil},
		{"scale-nodes beyond them", realCluster, clusters.Spec{Nodes: 500, NodesExact: true}, "tuned",
			[]string{"node count: the existing provider cannot create nodes: cluster c has 3 Ready workers, the experiment asks for 500"}},
		{"other experiments run on the nodes there are", realCluster, clusters.Spec{Nodes: 80}, "tuned", nil},
		{"an untainted control plane is a worker (single-node cluster)", append([]runtime.Object{node("cp", map[string]string{"node-role.kubernetes.io/control-plane": ""}, nil)}, tuned...),
			clusters.Spec{Nodes: 1, NodesExact: true}, "tuned", nil},
		{"direct nodes left by an earlier kdbench's kd run are not workers", with(tuned, realW("w1"), node("kd-direct-node-0",
			map[string]string{nodeagent.TypeLabel: nodeagent.TypeLabelValue, DirectNodeLabel: "true"}, map[string]string{nodeagent.SandboxDelayAnnotation: "200ms"})),
			clusters.Spec{Nodes: 1, NodesExact: true}, "tuned", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := provider(tc.objs...)
			tc.spec.Name, tc.spec.Kubeconfig = "c", kubeconfig(t)
			spec, refused, err := p.Check(context.Background(), tc.spec)
			require.NoError(t, err)
			if tc.wantProfile != "" {
				assert.Equal(t, tc.wantProfile, spec.QPSProfile)
			}
			if len(tc.want) == 0 {
				require.Empty(t, refused)
			}
			for _, w := range tc.want {
				assert.ErrorContains(t, refused, w)
			}
			c, err := p.Up(context.Background(), tc.spec)
			if len(tc.want) > 0 {
				require.Error(t, err, "Up refuses what Check refuses")
				return
			}
			require.NoError(t, err)
			assert.Empty(t, clusters.Verify(spec, c), "the cluster Up describes honours the checked spec")
			assert.Equal(t, tc.spec.SandboxDelay, c.SandboxDelay)
			assert.NotEmpty(t, c.QPSProfileSource)
		})
	}
}

func TestUpDescribesTheCluster(t *testing.T) {
	p := provider(append([]runtime.Object{cpNode, realW("w1"), realW("w2")}, kubeadmControlPlane(local.Profiles["tuned"])...)...)
	c, err := p.Up(context.Background(), clusters.Spec{Name: "lab", Kubeconfig: kubeconfig(t)})
	require.NoError(t, err)
	assert.Equal(t, 2, c.Nodes, "Ready workers, not the control-plane node")
	assert.Equal(t, "tuned", c.QPSProfile)
	assert.Equal(t, "read from the kube-apiserver and kube-controller-manager flags in kube-system", c.QPSProfileSource)
	assert.Contains(t, c.Flags[scheduler], "--config=/etc/kubernetes/kdbench/scheduler-0123456789ab.yaml", "every component's flags go to the manifest")
	assert.Contains(t, c.Flags[apiserver], "--max-requests-inflight=200000")
	assert.Equal(t, "https://10.10.1.1:6443", c.Endpoints[apiserver])
}

func TestControlPlanePodsMustAgree(t *testing.T) {
	objs := append([]runtime.Object{cpNode, realW("w1")}, kubeadmControlPlane(local.Profiles["tuned"])...)
	objs = append(objs, staticPod(apiserver, "cp2", "--max-requests-inflight=400"))
	_, _, err := provider(objs...).Check(context.Background(), clusters.Spec{Name: "c", Kubeconfig: kubeconfig(t)})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "kube-apiserver pods kube-system/kube-apiserver-cp and kube-system/kube-apiserver-cp2 run with different flags"), err.Error())
}

func TestParseFlags(t *testing.T) {
	assert.Equal(t, map[string]string{"a": "1", "b": "true", "c": "x=y"}, parseFlags([]string{"--a=1", "--b", "positional", "-c=x=y"}))
}
