package knative

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/knative/knconfig"
	"github.com/kdbench/kdbench/baselines/knative/serving"
	"github.com/kdbench/kdbench/workloads/replay"
)

// A cluster's own Knative: the Serving and Kourier that the CloudLab
// bootstrap installs on a kubeadm cluster (clusters/cloudlab/knative.go,
// as the artifact's scripts/knative.sh), or any cluster's Knative Serving
// 1.15 behind Kourier. kn-k8s drives it as the artifact's trace driver
// drives it: a Knative Service per function running the artifact's
// function image on the cluster's kubelets, every invocation a gRPC call
// through Kourier's gateway by the Service's host.

const (
	kourierNamespace = "kourier-system"
	kourierService   = "kourier"
	kourierGateway   = "3scale-kourier-gateway"
	kourierClass     = "kourier.ingress.networking.knative.dev"
	// GatewayEnv overrides the address the harness reaches Kourier's
	// gateway at (host:port); by default the API server's host and the
	// gateway Service's node port for port 80.
	GatewayEnv = "KDBENCH_KNATIVE_GATEWAY"
)

// newClientset is the API client Prepare looks for the cluster's Knative
// with; tests replace it.
var newClientset = func(rc *rest.Config) (kubernetes.Interface, error) { return kubernetes.NewForConfig(rc) }

// installed is what Prepare found of the cluster's own Knative.
type installed struct {
	version string // serving-core's app.kubernetes.io/version
	gateway string // Kourier's gateway as the harness reaches it
}

// hasInstalledServing reports whether the cluster runs Knative Serving as
// Deployments of its own (not kdbench's processes, which have none).
func hasInstalledServing(ctx context.Context, cs kubernetes.Interface) (bool, error) {
	_, err := cs.AppsV1().Deployments(serving.SystemNamespace).Get(ctx, "controller", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking for the cluster's Knative Serving (Deployment %s/controller): %w", serving.SystemNamespace, err)
	}
	return true, nil
}

// findInstalled checks the cluster's Knative as the artifact configures it
// and finds Kourier's gateway. What is missing or set otherwise is a
// refusal naming it and the bootstrap step that sets it.
func findInstalled(ctx context.Context, cs kubernetes.Interface, apiHost string) (*installed, error) {
	var problems []string
	in := &installed{}
	// serving-core.yaml's and Kourier's Deployments, each Available.
	for _, d := range []struct{ ns, name string }{
		{serving.SystemNamespace, "activator"}, {serving.SystemNamespace, "autoscaler"}, {serving.SystemNamespace, "controller"},
		{serving.SystemNamespace, "webhook"}, {serving.SystemNamespace, "net-kourier-controller"}, {kourierNamespace, kourierGateway},
	} {
		dep, err := cs.AppsV1().Deployments(d.ns).Get(ctx, d.name, metav1.GetOptions{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("Deployment %s/%s: %v", d.ns, d.name, err))
			continue
		}
		if !available(dep) {
			problems = append(problems, fmt.Sprintf("Deployment %s/%s is not Available", d.ns, d.name))
		}
		if d.name == "controller" {
			in.version = dep.Labels["app.kubernetes.io/version"]
			if want := serving.Release + "."; !strings.HasPrefix(in.version, want) {
				problems = append(problems, fmt.Sprintf("Knative Serving is %q, not %sx (the artifact's)", in.version, want))
			}
		}
	}
	if diff, err := configDiff(ctx, cs, "config-autoscaler", knconfig.Autoscaler); err != nil || len(diff) > 0 {
		problems = append(problems, fmt.Sprintf("config-autoscaler is not the artifact's config-patch.yaml: %s", orErr(diff, err)))
	}
	if diff, err := configDiff(ctx, cs, "config-network", map[string]string{"ingress-class": kourierClass}); err != nil || len(diff) > 0 {
		problems = append(problems, fmt.Sprintf("config-network does not route through Kourier: %s", orErr(diff, err)))
	}
	gw, err := gatewayAddress(ctx, cs, apiHost)
	if err != nil {
		problems = append(problems, err.Error())
	}
	in.gateway = gw
	if len(problems) > 0 {
		return nil, fmt.Errorf("the cluster's Knative is not as the artifact runs it (the CloudLab bootstrap's knative-* and kourier steps install and configure it: `kdbench cluster up --provider cloudlab --systems kn-k8s …`):\n  %s",
			strings.Join(problems, "\n  "))
	}
	return in, nil
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// configDiff lists the keys of Serving's ConfigMap name that differ from want.
func configDiff(ctx context.Context, cs kubernetes.Interface, name string, want map[string]string) ([]string, error) {
	cm, err := cs.CoreV1().ConfigMaps(serving.SystemNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var diff []string
	for k, v := range want {
		if got, ok := cm.Data[k]; !ok || got != v {
			diff = append(diff, fmt.Sprintf("%s is %q, want %q", k, got, v))
		}
	}
	sort.Strings(diff)
	return diff, nil
}

func orErr(diff []string, err error) string {
	if err != nil {
		return err.Error()
	}
	return strings.Join(diff, ", ")
}

// gatewayAddress is where the harness sends invocations: GatewayEnv, else
// the API server's host at the node port of the gateway Service's port 80
// (its type is LoadBalancer, so every node forwards a node port to it; the
// harness reaches the API server's host by construction).
func gatewayAddress(ctx context.Context, cs kubernetes.Interface, apiHost string) (string, error) {
	if v := os.Getenv(GatewayEnv); v != "" {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return "", fmt.Errorf("%s=%q: want host:port: %w", GatewayEnv, v, err)
		}
		return v, nil
	}
	svc, err := cs.CoreV1().Services(kourierNamespace).Get(ctx, kourierService, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("Kourier's gateway Service: %w", err)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 80 })
	if i < 0 || svc.Spec.Ports[i].NodePort == 0 {
		return "", fmt.Errorf("Service %s/%s has no node port for port 80 (type %s); set %s to an address of its gateway the harness can reach",
			kourierNamespace, kourierService, svc.Spec.Type, GatewayEnv)
	}
	u, err := url.Parse(apiHost)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("the API server's address %q has no host; set %s", apiHost, GatewayEnv)
	}
	return net.JoinHostPort(u.Hostname(), strconv.Itoa(int(svc.Spec.Ports[i].NodePort))), nil
}

// authorities maps each function to its Knative Service's host (status.url),
// by which Kourier routes.
func authorities(ready map[string]serving.Ready) (map[string]string, error) {
	out := make(map[string]string, len(ready))
	for fn, r := range ready {
		u, err := url.Parse(r.URL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("Knative Service %s is Ready without a usable status.url %q", fn, r.URL)
		}
		out[fn] = u.Host
	}
	return out, nil
}

// refuseKdOnCluster is why kn-kd refuses a cluster that is not kdbench's
// processes: the artifact's kn-kd runs Knative's revisions on its own
// kubelet, which kdbench does not have (docs/knative.md).
func refuseKdOnCluster(provider, why string) error {
	return baselines.AsRefusal(errors.New(RealNeedsProcesses(RealKd, provider, why)))
}

// prepareInstalled prepares kn-k8s on a cluster that runs its own Knative
// Serving (done true), checked as findInstalled does; done is false when
// the cluster has none, and Prepare goes on to run kdbench's own on a
// process control plane. kn-kd is refused on such a cluster.
func (s *Real) prepareInstalled(ctx context.Context, env baselines.Env) (done bool, err error) {
	c := env.Cluster
	if c.REST == nil {
		return false, nil
	}
	cs, err := newClientset(c.REST)
	if err != nil {
		return true, fmt.Errorf("%s: %w", s.name, err)
	}
	ok, err := hasInstalledServing(ctx, cs)
	if err != nil {
		return true, fmt.Errorf("%s: %w", s.name, err)
	}
	if !ok && c.Reconfigurer == nil {
		why := c.ReconfigureRefusal
		if why == "" {
			why = "it cannot restart its node agents"
		}
		return true, baselines.AsRefusal(fmt.Errorf("%s: cluster %q (provider %s) runs no Knative Serving of its own (no Deployment %s/controller; `kdbench cluster up --provider cloudlab --systems %s` installs the artifact's), "+
			"and kdbench cannot run its own there, whose node agents must serve Knative's pods: %s", s.name, c.Name, c.Provider, serving.SystemNamespace, s.name, why))
	}
	if !ok {
		return false, nil
	}
	if s.name == RealKd {
		return true, refuseKdOnCluster(c.Provider, fmt.Sprintf("cluster %q runs its own Knative Serving on kubelets", c.Name))
	}
	in, err := findInstalled(ctx, cs, c.REST.Host)
	if err != nil {
		return true, baselines.AsRefusal(fmt.Errorf("%s on cluster %q: %w", s.name, c.Name, err))
	}
	if err := s.inner.Prepare(ctx, env); err != nil {
		return true, err
	}
	s.mu.Lock()
	s.onCluster = in
	s.mu.Unlock()
	if env.Logf != nil {
		env.Logf("%s: the cluster's own Knative Serving %s over %s; invocations through Kourier's gateway at %s, functions %s", s.name, in.version, s.inner.Name(), in.gateway, knconfig.FunctionImage)
	}
	return true, nil
}

// startInstalled makes the Knative Services of functions on the cluster's
// own Knative and returns the loader's gRPC front-end through Kourier.
func (s *Real) startInstalled(ctx context.Context, env baselines.Env, in *installed, namespace string, functions []string) (replay.FrontEnd, error) {
	dc, err := knativeClient(env)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	for _, fn := range functions {
		if err := serving.CreateService(ctx, dc, serving.NewInstalledService(namespace, fn)); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	ready, err := serving.WaitAllReady(ctx, dc, namespace, functions, false, time.Minute+time.Duration(len(functions))*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	hosts, err := authorities(ready)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	if env.Logf != nil {
		env.Logf("%s: %d Knative Services Ready (idle behind the activator) %s after creation", s.name, len(functions), time.Since(began).Round(time.Millisecond))
	}
	return &replay.GRPCFrontEnd{Target: in.gateway, Authority: func(fn string) string { return hosts[fn] }}, nil
}

// installedFacts: everything of Knative is the cluster's own.
func installedFacts(in *installed, over string) replay.FrontEndFacts {
	return replay.FrontEndFacts{
		Knative: "v" + in.version + " (Knative Serving " + serving.Release + ", the cluster's own: the release manifests the CloudLab bootstrap applies)",
		Over:    over,
		Real: []string{
			"controller, autoscaler, activator, webhook: the release's images, as Deployments of the cluster (the artifact's config-autoscaler)",
			"ingress: Kourier " + in.version + " (Envoy); every invocation a gRPC call through its gateway at " + in.gateway + " by the Service's host",
			"queue-proxy: the release's image, beside each function container",
			"user container: " + knconfig.FunctionImage + " (the artifact's; the loader's gRPC trace function) on the cluster's kubelets",
		},
		Modelled: []string{},
	}
}
