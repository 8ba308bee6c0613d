package serving

import (
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kdbench/kdbench/baselines/knative/knconfig"
)

// FunctionRegistry is the image registry of kdbench's functions. Serving
// resolves image tags to digests by asking the registry unless the
// registry is in config-deployment's skip list; kdbench's pods run no image.
const FunctionRegistry = "kdbench.local"

// Settings are the artifact's Knative settings laid over the modules'
// ConfigMaps, by ConfigMap and key. config-autoscaler and config-features
// are the artifact's manifests/knative/config-patch.yaml
// (github.com/TomQuartz/kubedirect-ae); target-burst-capacity -1 keeps the
// activator in the path of every request.
var Settings = map[string]map[string]string{
	"config-autoscaler": knconfig.Autoscaler,
	"config-features":   knconfig.Features,
	// The activator and autoscaler dial pod IPs, never a mesh's service names.
	"config-network":  {"mesh-compatibility-mode": "disabled"},
	"config-defaults": {"container-concurrency": "1"},
	"config-deployment": {
		// Written into each revision's pod spec; no image runs (the node
		// agent's sandbox is the queue-proxy).
		"queue-sidecar-image":               FunctionRegistry + "/knative/queue:" + Version,
		"registries-skipping-tag-resolving": "kind.local,ko.local,dev.local," + FunctionRegistry,
	},
}

// withSettings lays settings over the ConfigMaps among objs (in place) and
// fails if a ConfigMap it names is not there.
func withSettings(objs []*unstructured.Unstructured, settings map[string]map[string]string) error {
	seen := map[string]bool{}
	for _, o := range objs {
		over, ok := settings[o.GetName()]
		if o.GetKind() != "ConfigMap" || !ok {
			continue
		}
		data, _, err := unstructured.NestedStringMap(o.Object, "data")
		if err != nil {
			return fmt.Errorf("ConfigMap %s: %w", o.GetName(), err)
		}
		if data == nil {
			data = map[string]string{}
		}
		maps.Copy(data, over)
		if err := unstructured.SetNestedStringMap(o.Object, data, "data"); err != nil {
			return err
		}
		seen[o.GetName()] = true
	}
	for name := range settings {
		if !seen[name] {
			return fmt.Errorf("knative settings: ConfigMap %s is not among the modules' manifests", name)
		}
	}
	return nil
}
