package serving

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/kdbench/kdbench/baselines/knative/knconfig"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

var (
	gvrService       = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
	gvrConfiguration = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "configurations"}
	gvrRevision      = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
	gvrPodAutoscaler = schema.GroupVersionResource{Group: "autoscaling.internal.knative.dev", Version: "v1alpha1", Resource: "podautoscalers"}
	gvrSKS           = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "serverlessservices"}
)

// FunctionImage is the image each function's ksvc names (never pulled).
const FunctionImage = FunctionRegistry + "/function:v1"

// NewService is a Knative Service for one function, as the artifact's
// experiments/trace/config/kd.ksvc.template.yaml: the KPA on concurrency
// with target 1, its windows and delays, containerConcurrency 1, one h2c
// container port. Unlike the template it names the autoscaling class on
// the revision template (the webhook that would default it is not run) and
// selects kdbench's simulated nodes. podLabels are added to the revision
// template's labels, which Knative copies onto the revision's Deployment
// and its pods (DeploymentLabels: how kn-kd marks them Kubedirect-managed,
// as the artifact's template does).
func NewService(namespace, name string, podLabels map[string]string) *unstructured.Unstructured {
	labels := map[string]any{"app": name, "workload": "trace"}
	for k, v := range podLabels {
		labels[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1",
		"kind":       "Service",
		"metadata": map[string]any{
			"name": name, "namespace": namespace,
			"labels": map[string]any{"app": name, "workload": "trace"},
		},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{
				"labels": labels,
				"annotations": map[string]any{
					"autoscaling.knative.dev/class":                              "kpa.autoscaling.knative.dev",
					"serving.knative.dev/no-gc":                                  "true",
					"autoscaling.knative.dev/metric":                             "concurrency",
					"autoscaling.knative.dev/target":                             "1",
					"autoscaling.knative.dev/target-utilization-percentage":      "100",
					"autoscaling.knative.dev/scale-down-delay":                   "30s",
					"autoscaling.knative.dev/scale-to-zero-pod-retention-period": "5m",
					"autoscaling.knative.dev/window":                             "60s",
					"autoscaling.knative.dev/panic-window-percentage":            "10.0",
					"autoscaling.knative.dev/panic-threshold-percentage":         "200.0",
				},
			},
			"spec": map[string]any{
				"containerConcurrency":         int64(1),
				"automountServiceAccountToken": false,
				"nodeSelector":                 map[string]any{nodeagent.TypeLabel: nodeagent.TypeLabelValue},
				"containers": []any{map[string]any{
					"name": name, "image": FunctionImage, "imagePullPolicy": "Never",
					"ports": []any{map[string]any{"name": "h2c", "containerPort": int64(80)}},
				}},
			},
		}},
	}}
}

// NewInstalledService is NewService for a cluster's own Knative on real
// kubelets, as the artifact's template: the artifact's function image
// (knconfig.FunctionImage, pulled beforehand by the CloudLab bootstrap;
// IfNotPresent where the template says Never, so that a cluster without
// the pull still runs, its first pod per node paying for it) with the
// template's environment, and no node selector (kubeadm's control-plane
// taint keeps the pods on the workers).
func NewInstalledService(namespace, name string) *unstructured.Unstructured {
	svc := NewService(namespace, name, nil)
	spec := svc.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	delete(spec, "nodeSelector")
	var env []any
	for _, k := range slices.Sorted(maps.Keys(knconfig.FunctionEnv)) {
		env = append(env, map[string]any{"name": k, "value": knconfig.FunctionEnv[k]})
	}
	c := spec["containers"].([]any)[0].(map[string]any)
	c["image"], c["imagePullPolicy"], c["env"] = knconfig.FunctionImage, "IfNotPresent", env
	return svc
}

// DeploymentLabels are the labels a system's DecorateDeployment puts on a
// Deployment and its pod template, for NewService: Knative, not kdbench,
// creates the revision's Deployment, and only labels pass through the
// revision template. A decoration that changes anything else is refused.
func DeploymentLabels(decorate func(*appsv1.Deployment)) (map[string]string, error) {
	d := &appsv1.Deployment{}
	decorate(d)
	labels := map[string]string{}
	maps.Copy(labels, d.Labels)
	for k, v := range d.Spec.Template.Labels {
		if w, ok := labels[k]; ok && w != v {
			return nil, fmt.Errorf("label %s is %q on the Deployment but %q on its pods: a Knative revision gives both the same labels", k, w, v)
		}
		labels[k] = v
	}
	d.Labels, d.Spec.Template.Labels = nil, nil
	if !equality.Semantic.DeepEqual(d, &appsv1.Deployment{}) {
		return nil, fmt.Errorf("the decoration changes more than labels; a Knative Service passes only labels to its revisions' Deployments")
	}
	return labels, nil
}

// CreateService creates svc (AlreadyExists is not an error).
func CreateService(ctx context.Context, dc dynamic.Interface, svc *unstructured.Unstructured) error {
	_, err := dc.Resource(gvrService).Namespace(svc.GetNamespace()).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Knative Service %s/%s: %w", svc.GetNamespace(), svc.GetName(), err)
	}
	return nil
}

// Ready is what WaitReady found: the Service's latest revision and URL.
type Ready struct {
	Revision string
	URL      string // status.url: the host an ingress routes by
}

// WaitReady is WaitAllReady for one Service.
func WaitReady(ctx context.Context, dc dynamic.Interface, namespace, name string, active bool, timeout time.Duration) (Ready, error) {
	r, err := WaitAllReady(ctx, dc, namespace, []string{name}, active, timeout)
	return r[name], err
}

// WaitAllReady waits until each named Service, its Configuration and its
// latest Revision are Ready, Knative's own controllers having said so, and
// the revision's PodAutoscaler and ServerlessService exist. At zero pods
// Knative itself reports the PodAutoscaler not Ready (NoTraffic) and the
// ServerlessService's endpoints Unknown, so with active false those two need
// only their idle conditions: the scale target initialized, the activator
// backing the revision. With active true (pods serving) they must be Ready
// too. It lists each kind once per poll (hundreds of functions cost five
// requests). On timeout the error names each object that is not ready, with
// its conditions.
func WaitAllReady(ctx context.Context, dc dynamic.Interface, namespace string, names []string, active bool, timeout time.Duration) (map[string]Ready, error) {
	var pending []string
	var out map[string]Ready
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		objs := map[schema.GroupVersionResource]map[string]*unstructured.Unstructured{}
		for _, gvr := range []schema.GroupVersionResource{gvrService, gvrConfiguration, gvrRevision, gvrPodAutoscaler, gvrSKS} {
			l, err := dc.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				if ctx.Err() == nil {
					pending = []string{fmt.Sprintf("listing %s in %s: %v", gvr.Resource, namespace, err)}
				}
				return false, nil
			}
			byName := map[string]*unstructured.Unstructured{}
			for i := range l.Items {
				byName[l.Items[i].GetName()] = &l.Items[i]
			}
			objs[gvr] = byName
		}
		var done bool
		out, pending, done = readiness(objs, namespace, names, active)
		return done, nil
	})
	if err != nil {
		more := ""
		if len(pending) > 20 {
			more = fmt.Sprintf("\n  … and %d more", len(pending)-20)
			pending = pending[:20]
		}
		return out, fmt.Errorf("Knative Services in %s not Ready after %s:\n  %s%s", namespace, timeout, strings.Join(pending, "\n  "), more)
	}
	return out, nil
}

// readiness evaluates one listing: each function's revision, what is not
// ready yet, and whether all are.
func readiness(objs map[schema.GroupVersionResource]map[string]*unstructured.Unstructured, namespace string, names []string, active bool) (map[string]Ready, []string, bool) {
	out := map[string]Ready{}
	var pending []string
	check := func(gvr schema.GroupVersionResource, kind, obj string, conds ...string) *unstructured.Unstructured {
		u := objs[gvr][obj]
		if u == nil {
			pending = append(pending, fmt.Sprintf("%s %s/%s: not found", kind, namespace, obj))
			return nil
		}
		if len(conds) == 0 {
			conds = []string{"Ready"}
		}
		for _, c := range conds {
			if !conditionTrue(u, c) {
				pending = append(pending, fmt.Sprintf("%s %s/%s not %s: %s", kind, namespace, obj, c, conditions(u)))
				break
			}
		}
		return u
	}
	for _, name := range names {
		svc := check(gvrService, "Service", name)
		check(gvrConfiguration, "Configuration", name)
		if svc == nil {
			continue
		}
		rev, _, _ := unstructured.NestedString(svc.Object, "status", "latestCreatedRevisionName")
		if rev == "" {
			pending = append(pending, fmt.Sprintf("Service %s/%s: no revision yet", namespace, name))
			continue
		}
		url, _, _ := unstructured.NestedString(svc.Object, "status", "url")
		out[name] = Ready{Revision: rev, URL: url}
		check(gvrRevision, "Revision", rev)
		if active {
			check(gvrPodAutoscaler, "PodAutoscaler", rev)
			check(gvrSKS, "ServerlessService", rev)
		} else {
			check(gvrPodAutoscaler, "PodAutoscaler", rev, "ScaleTargetInitialized")
			check(gvrSKS, "ServerlessService", rev, "ActivatorEndpointsPopulated")
		}
	}
	return out, pending, len(pending) == 0
}

// conditions summarises u's status conditions for an error message.
func conditions(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	if len(conds) == 0 {
		return "no conditions"
	}
	var parts []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		s := fmt.Sprintf("%v=%v", m["type"], m["status"])
		if r, _ := m["reason"].(string); r != "" {
			s += " (" + r
			if msg, _ := m["message"].(string); msg != "" {
				s += ": " + msg
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
