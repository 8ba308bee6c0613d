package knative

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/knative/knconfig"
	"github.com/kdbench/kdbench/baselines/knative/serving"
	"github.com/kdbench/kdbench/clusters"
)

// bootstrapped is what the CloudLab bootstrap's knative-* and kourier
// steps leave on a cluster, edited by change.
func bootstrapped(change func(objs map[string]runtime.Object)) []runtime.Object {
	objs := map[string]runtime.Object{}
	dep := func(ns, name, version string) {
		objs["deploy/"+name] = &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/version": version}},
			Status:     appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}},
		}
	}
	for _, n := range []string{"activator", "autoscaler", "controller", "webhook", "net-kourier-controller"} {
		dep("knative-serving", n, "1.15.0")
	}
	dep("kourier-system", "3scale-kourier-gateway", "1.15.0")
	objs["cm/config-autoscaler"] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "config-autoscaler"},
		Data: maps.Clone(knconfig.Autoscaler)}
	objs["cm/config-network"] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "config-network"},
		Data: map[string]string{"ingress-class": "kourier.ingress.networking.knative.dev"}}
	objs["svc/kourier"] = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kourier-system", Name: "kourier"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{
			{Name: "http2", Port: 80, NodePort: 31080}, {Name: "https", Port: 443, NodePort: 31443}}}}
	if change != nil {
		change(objs)
	}
	var out []runtime.Object
	for _, o := range objs {
		out = append(out, o)
	}
	return out
}

// TestFindInstalled: the cluster's Knative is taken as it is only when it
// is the artifact's (1.15, its config-autoscaler, Kourier), every
// difference named; the gateway is the API server's host at Kourier's
// node port, or GatewayEnv.
func TestFindInstalled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(map[string]runtime.Object)
		env     string
		gateway string
		wantErr []string
	}{
		{name: "as bootstrapped", gateway: "cp.example.net:31080"},
		{name: "gateway given", env: "10.10.1.1:80", gateway: "10.10.1.1:80"},
		{name: "gateway given badly", env: "10.10.1.1", wantErr: []string{`KDBENCH_KNATIVE_GATEWAY="10.10.1.1": want host:port`}},
		{name: "another release", change: func(o map[string]runtime.Object) {
			o["deploy/controller"].(*appsv1.Deployment).Labels["app.kubernetes.io/version"] = "1.14.1"
		}, wantErr: []string{`Knative Serving is "1.14.1", not 1.15.x`}},
		{name: "release config", change: func(o map[string]runtime.Object) {
			cm := o["cm/config-autoscaler"].(*corev1.ConfigMap)
			cm.Data["target-burst-capacity"] = "211"
			delete(cm.Data, "initial-scale")
		}, wantErr: []string{`config-autoscaler is not the artifact's config-patch.yaml: initial-scale is "", want "0", target-burst-capacity is "211", want "-1"`}},
		{name: "not ready, no Kourier", change: func(o map[string]runtime.Object) {
			o["deploy/activator"].(*appsv1.Deployment).Status.Conditions = nil
			delete(o, "deploy/3scale-kourier-gateway")
			delete(o, "svc/kourier")
			o["cm/config-network"].(*corev1.ConfigMap).Data = nil
		}, wantErr: []string{
			"Deployment knative-serving/activator is not Available",
			`Deployment kourier-system/3scale-kourier-gateway: deployments.apps "3scale-kourier-gateway" not found`,
			`config-network does not route through Kourier: ingress-class is ""`,
			"Kourier's gateway Service",
			"the CloudLab bootstrap's knative-* and kourier steps install and configure it",
		}},
		{name: "no node port", change: func(o map[string]runtime.Object) {
			o["svc/kourier"].(*corev1.Service).Spec.Ports[0].NodePort = 0
		}, wantErr: []string{"Service kourier-system/kourier has no node port for port 80 (type LoadBalancer); set KDBENCH_KNATIVE_GATEWAY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(GatewayEnv, tc.env)
			in, err := findInstalled(context.Background(), fake.NewSimpleClientset(bootstrapped(tc.change)...), "https://cp.example.net:6443")
			if len(tc.wantErr) > 0 {
				for _, w := range tc.wantErr {
					require.ErrorContains(t, err, w)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, &installed{version: "1.15.0", gateway: tc.gateway}, in)
		})
	}
}

// inner is a system under kn-k8s that records its Prepare.
type inner struct {
	baselines.System
	prepared int
}

func (i *inner) Name() string { return "k8s" }
func (i *inner) Prepare(context.Context, baselines.Env) error {
	i.prepared++
	return nil
}

// TestRealOnInstalledKnative: on a kubeadm cluster running the bootstrap's
// Knative, kn-k8s prepares on it (nothing of kdbench's Knative installed,
// no node agent restarted) and says so in its facts; kn-kd refuses; a
// kubeadm cluster without Knative is refused as before.
func TestRealOnInstalledKnative(t *testing.T) {
	kubeadm := func() *clusters.Cluster {
		return &clusters.Cluster{Name: "c", Provider: "cloudlab", REST: &rest.Config{Host: "https://cp.example.net:6443"},
			ReconfigureRefusal: "its workers run kubeadm's kubelets"}
	}
	for _, tc := range []struct {
		name    string
		system  string
		objs    []runtime.Object
		wantErr string
	}{
		{"kn-k8s", RealK8s, bootstrapped(nil), ""},
		{"kn-kd", RealKd, bootstrapped(nil), `kn-kd runs real Knative Serving only on clusters of kdbench's own processes`},
		{"kn-k8s, Knative set otherwise", RealK8s, bootstrapped(func(o map[string]runtime.Object) {
			o["cm/config-autoscaler"].(*corev1.ConfigMap).Data["target-burst-capacity"] = "200"
		}), `kn-k8s on cluster "c": the cluster's Knative is not as the artifact runs it`},
		{"kn-k8s, no Knative", RealK8s, nil, `kn-k8s: cluster "c" (provider cloudlab) runs no Knative Serving of its own (no Deployment knative-serving/controller; ` +
			"`kdbench cluster up --provider cloudlab --systems kn-k8s` installs the artifact's), and kdbench cannot run its own there, whose node agents must serve Knative's pods: its workers run kubeadm's kubelets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := newClientset
			newClientset = func(*rest.Config) (kubernetes.Interface, error) { return fake.NewSimpleClientset(tc.objs...), nil }
			defer func() { newClientset = old }()
			t.Setenv(GatewayEnv, "")
			in := &inner{}
			s := NewReal(tc.system, in)
			err := s.Prepare(context.Background(), baselines.Env{Cluster: kubeadm()})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.True(t, baselines.IsRefusal(err), "%v is a refusal", err)
				require.Zero(t, in.prepared)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 1, in.prepared)
			f := s.FrontEndFacts()
			require.Equal(t, "v1.15.0 (Knative Serving 1.15, the cluster's own: the release manifests the CloudLab bootstrap applies)", f.Knative)
			require.Empty(t, f.Modelled)
			require.Contains(t, strings.Join(f.Real, "\n"), "gateway at cp.example.net:31080")
			require.Contains(t, strings.Join(f.Real, "\n"), knconfig.FunctionImage)
		})
	}
}

// TestNewInstalledService: the artifact's template on real kubelets: its
// image and environment, no simulated-node selector.
func TestNewInstalledService(t *testing.T) {
	svc := serving.NewInstalledService("kd-trace-kn-k8s", "fn3")
	spec, _, _ := unstructured.NestedMap(svc.Object, "spec", "template", "spec")
	require.NotContains(t, spec, "nodeSelector")
	c := spec["containers"].([]any)[0].(map[string]any)
	require.Equal(t, "docker.io/shengqipku/kubedirect-bench:dev", c["image"])
	require.Equal(t, "IfNotPresent", c["imagePullPolicy"])
	require.Equal(t, []any{
		map[string]any{"name": "FUNCTION_TYPE", "value": "trace"},
		map[string]any{"name": "ITERATIONS_MULTIPLIER", "value": "155"},
	}, c["env"])
	require.Equal(t, []any{map[string]any{"name": "h2c", "containerPort": int64(80)}}, c["ports"])
	require.EqualValues(t, 1, spec["containerConcurrency"])
	_, withSelector, _ := unstructured.NestedMap(serving.NewService("ns", "fn3", nil).Object, "spec", "template", "spec", "nodeSelector")
	require.True(t, withSelector, "NewService itself is unchanged")
}

// TestAuthorities: Kourier routes by the host of each Service's URL.
func TestAuthorities(t *testing.T) {
	got, err := authorities(map[string]serving.Ready{"fn0": {Revision: "fn0-00001", URL: "http://fn0.kd-trace.10.96.0.7.sslip.io"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"fn0": "fn0.kd-trace.10.96.0.7.sslip.io"}, got)
	_, err = authorities(map[string]serving.Ready{"fn1": {Revision: "fn1-00001"}})
	require.ErrorContains(t, err, `Knative Service fn1 is Ready without a usable status.url ""`)
}
