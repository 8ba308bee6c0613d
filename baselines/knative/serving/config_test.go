package serving

import (
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDecodeManifests(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // kind/name
		err        string
	}{
		{"two documents and an empty one", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
			[]string{"ConfigMap/a", "Namespace/b"}, ""},
		{"a kind kdbench does not apply", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: controller}\n", nil, `Deployment "controller": kind not applied`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := decodeManifests([]byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWithSettings(t *testing.T) {
	cm := func(name string, data map[string]any) *unstructured.Unstructured {
		o := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}}
		if data != nil {
			o["data"] = data
		}
		return &unstructured.Unstructured{Object: o}
	}
	objs := []*unstructured.Unstructured{cm("config-network", map[string]any{"_example": "x"}), cm("config-gc", nil)}
	if err := withSettings(objs, map[string]map[string]string{"config-network": {"mesh-compatibility-mode": "disabled"}}); err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(objs[0].Object, "data")
	if data["mesh-compatibility-mode"] != "disabled" || data["_example"] != "x" {
		t.Errorf("config-network data %v: want the setting added beside the example", data)
	}
	if _, found, _ := unstructured.NestedStringMap(objs[1].Object, "data"); found {
		t.Errorf("config-gc changed without a setting")
	}
	err := withSettings(objs, map[string]map[string]string{"config-autoscaler": {"a": "b"}})
	if err == nil || !strings.Contains(err.Error(), "config-autoscaler is not among") {
		t.Errorf("missing ConfigMap: error %v", err)
	}
}

// TestModuleManifests reads the real config/ trees `make knative` copies:
// every ConfigMap the settings name and every CRD Serving informs on must be
// there.
func TestModuleManifests(t *testing.T) {
	dir := ConfigDir(BinDir())
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no Knative config at %s (run `make knative`): %v", dir, err)
	}
	objs, err := readManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := withSettings(objs, Settings); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, o := range objs {
		have[o.GetKind()+"/"+o.GetName()] = true
	}
	for _, want := range []string{
		"Namespace/knative-serving",
		"CustomResourceDefinition/services.serving.knative.dev",
		"CustomResourceDefinition/revisions.serving.knative.dev",
		"CustomResourceDefinition/podautoscalers.autoscaling.internal.knative.dev",
		"CustomResourceDefinition/ingresses.networking.internal.knative.dev",
		"CustomResourceDefinition/serverlessservices.networking.internal.knative.dev",
		"CustomResourceDefinition/images.caching.internal.knative.dev",
		"ConfigMap/config-network", "ConfigMap/config-autoscaler", "ConfigMap/config-logging",
	} {
		if !have[want] {
			t.Errorf("%s missing from the manifests under %s", want, dir)
		}
	}
}
