package serving

import (
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	"config-autoscaler": {
		"pod-autoscaler-class":                    "kpa.autoscaling.knative.dev",
		"container-concurrency-target-default":    "1",
		"container-concurrency-target-percentage": "100",
		"target-burst-capacity":                   "-1",
		"max-scale-up-rate":                       "1000.0",
		"max-scale-down-rate":                     "2.0",
		"scale-down-delay":                        "60s",
		"min-scale":                               "0",
		"max-scale":                               "0",
		"max-scale-limit":                         "0",
		"allow-zero-initial-scale":                "true",
		"initial-scale":                           "0",
		"stable-window":                           "60s",
		"panic-window-percentage":                 "10.0",
		"panic-threshold-percentage":              "200.0",
		"enable-scale-to-zero":                    "true",
		"scale-to-zero-grace-period":              "15m",
		"scale-to-zero-pod-retention-period":      "5m",
	},
	"config-features": {
		"kubernetes.podspec-tolerations":  "enabled",
		"kubernetes.podspec-nodeselector": "enabled",
		"kubernetes.podspec-affinity":     "enabled",
	},
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
