package serving

import (
	"maps"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestReadiness(t *testing.T) {
	obj := func(name string, status map[string]any, conds ...string) *unstructured.Unstructured {
		var cs []any
		for _, c := range conds { // "Type=Status"
			typ, st, _ := strings.Cut(c, "=")
			cs = append(cs, map[string]any{"type": typ, "status": st, "reason": "R"})
		}
		if status == nil {
			status = map[string]any{}
		}
		status["conditions"] = cs
		return &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": name}, "status": status}}
	}
	rev := map[string]any{"latestCreatedRevisionName": "f-00001"}
	idle := func() map[schema.GroupVersionResource]map[string]*unstructured.Unstructured {
		return map[schema.GroupVersionResource]map[string]*unstructured.Unstructured{
			gvrService:       {"f": obj("f", rev, "Ready=True")},
			gvrConfiguration: {"f": obj("f", nil, "Ready=True")},
			gvrRevision:      {"f-00001": obj("f-00001", nil, "Ready=True")},
			// Knative's own state at zero pods.
			gvrPodAutoscaler: {"f-00001": obj("f-00001", nil, "Ready=False", "ScaleTargetInitialized=True")},
			gvrSKS:           {"f-00001": obj("f-00001", nil, "Ready=Unknown", "ActivatorEndpointsPopulated=True")},
		}
	}
	active := idle()
	active[gvrPodAutoscaler]["f-00001"] = obj("f-00001", nil, "Ready=True", "ScaleTargetInitialized=True")
	active[gvrSKS]["f-00001"] = obj("f-00001", nil, "Ready=True", "ActivatorEndpointsPopulated=True")
	noRev := idle()
	noRev[gvrService]["f"] = obj("f", nil, "Ready=Unknown")
	revNotReady := idle()
	revNotReady[gvrRevision]["f-00001"] = obj("f-00001", nil, "Ready=False")
	noSKS := idle()
	delete(noSKS[gvrSKS], "f-00001")

	for _, tc := range []struct {
		name    string
		objs    map[schema.GroupVersionResource]map[string]*unstructured.Unstructured
		active  bool
		done    bool
		pending string // substring of the first pending line
	}{
		{"idle at zero pods", idle(), false, true, ""},
		{"idle is not active", idle(), true, false, "PodAutoscaler ns/f-00001 not Ready: Ready=False (R)"},
		{"active", active, true, true, ""},
		{"no revision yet", noRev, false, false, "Service ns/f not Ready"},
		{"revision not ready", revNotReady, false, false, "Revision ns/f-00001 not Ready: Ready=False"},
		{"no serverless service", noSKS, false, false, "ServerlessService ns/f-00001: not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pending, done := readiness(tc.objs, "ns", []string{"f"}, tc.active)
			if done != tc.done {
				t.Fatalf("done %v, want %v; pending %v", done, tc.done, pending)
			}
			if tc.pending != "" && (len(pending) == 0 || !strings.Contains(pending[0], tc.pending)) {
				t.Errorf("pending %q, want first to contain %q", pending, tc.pending)
			}
			if done && got["f"].Revision != "f-00001" {
				t.Errorf("revision %q", got["f"].Revision)
			}
		})
	}
}

func TestDeploymentLabels(t *testing.T) {
	for _, tc := range []struct {
		name     string
		decorate func(*appsv1.Deployment)
		want     map[string]string
		err      string
	}{
		{"none", func(*appsv1.Deployment) {}, map[string]string{}, ""},
		{"managed on both, as kd does", func(d *appsv1.Deployment) {
			d.Labels = map[string]string{"kubedirect.io/managed": "true"}
			d.Spec.Template.Labels = map[string]string{"kubedirect.io/managed": "true"}
		}, map[string]string{"kubedirect.io/managed": "true"}, ""},
		{"different values", func(d *appsv1.Deployment) {
			d.Labels = map[string]string{"a": "1"}
			d.Spec.Template.Labels = map[string]string{"a": "2"}
		}, nil, "label a is"},
		{"more than labels", func(d *appsv1.Deployment) { d.Spec.Template.Spec.SchedulerName = "x" }, nil, "changes more than labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DeploymentLabels(tc.decorate)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	svc := NewService("ns", "f", map[string]string{"kubedirect.io/managed": "true"})
	labels, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "template", "metadata", "labels")
	if labels["kubedirect.io/managed"] != "true" || labels["app"] != "f" {
		t.Errorf("revision template labels %v", labels)
	}
}
