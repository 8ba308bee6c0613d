package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// manifestFiles are the parts of the modules' config/ trees kdbench
// applies, relative to ConfigDir: the namespace, every CRD Serving's
// controllers inform on, and the ConfigMaps with their defaults. Not the
// Deployments (kdbench runs the binaries), RBAC (they use the admin
// kubeconfig), webhooks (not run) or cert-manager's certificate.
var manifestFiles = []string{
	"serving/core/100-namespace.yaml",
	"serving/core/300-resources/*.yaml",
	"networking/certificate.yaml",
	"networking/domain-claim.yaml",
	"networking/ingress.yaml",
	"networking/serverlessservice.yaml",
	"caching/image.yaml",
	"serving/core/configmaps/*.yaml",
	"networking/config-network.yaml",
}

var (
	gvrNamespace = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrConfigMap = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrCRD       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// kinds are the only kinds manifestFiles hold.
var kinds = map[string]schema.GroupVersionResource{
	"Namespace":                gvrNamespace,
	"ConfigMap":                gvrConfigMap,
	"CustomResourceDefinition": gvrCRD,
}

// readManifests reads the objects of manifestFiles under dir, in order.
func readManifests(dir string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, pat := range manifestFiles {
		files, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("knative manifests: nothing matches %s (run `make knative`)", filepath.Join(dir, pat))
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("knative manifests: %w", err)
			}
			got, err := decodeManifests(data)
			if err != nil {
				return nil, fmt.Errorf("knative manifests: %s: %w", f, err)
			}
			objs = append(objs, got...)
		}
	}
	return objs, nil
}

// decodeManifests splits a multi-document YAML file into objects, skipping
// empty documents and refusing kinds kdbench does not apply.
func decodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if _, ok := kinds[u.GetKind()]; !ok {
			return nil, fmt.Errorf("object %s %q: kind not applied by kdbench", u.GetKind(), u.GetName())
		}
		objs = append(objs, u)
	}
}

// apply creates or updates each object (server-side apply, kdbench owning
// the fields it sets) and waits for the CRDs to be established.
func apply(ctx context.Context, dc dynamic.Interface, objs []*unstructured.Unstructured) error {
	var crds []string
	for _, o := range objs {
		gvr := kinds[o.GetKind()]
		data, err := json.Marshal(o.Object)
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = dc.Resource(gvr)
		if ns := o.GetNamespace(); ns != "" {
			ri = dc.Resource(gvr).Namespace(ns)
		}
		force := true
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "kdbench", Force: &force}); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		if gvr == gvrCRD {
			crds = append(crds, o.GetName())
		}
	}
	for _, name := range crds {
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			u, err := dc.Resource(gvrCRD).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return conditionTrue(u, "Established"), nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not established: %w", name, err)
		}
	}
	return nil
}

// conditionTrue reports whether u's status has condition typ with status True.
func conditionTrue(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return m["status"] == "True"
		}
	}
	return false
}
