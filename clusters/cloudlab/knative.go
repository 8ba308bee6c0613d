package cloudlab

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/kdbench/kdbench/baselines/knative/knconfig"
)

// Knative Serving and its Kourier ingress, as the artifact installs them
// (scripts/knative.sh, manifests/knative/): the 1.15.0 release manifests,
// then its config-patch.yaml, then Kourier, then the ingress class and the
// sslip.io domain of Kourier's gateway. Installed only when a system of the
// cluster runs on Knative (addonsFor). The manifests are fetched from the
// releases by version; the images they name are pinned by digest (the
// artifact's copies name the same), and the bootstrap refuses a download
// that names others.

const (
	// KnativeVersion is the artifact's Knative Serving and net-kourier release.
	KnativeVersion        = "v1.15.0"
	knativeServingRelease = "https://github.com/knative/serving/releases/download/knative-" + KnativeVersion + "/"
	kourierRelease        = "https://github.com/knative/net-kourier/releases/download/knative-" + KnativeVersion + "/kourier.yaml"
	// knativeDir on the control plane keeps the manifests as applied.
	knativeDir = "/opt/kdbench/knative"
	// kourierIngressClass is config-network's ingress-class (knative.sh).
	kourierIngressClass = "kourier.ingress.networking.knative.dev"
)

// knativeImages are the images of the release manifests, by digest, as the
// artifact's copies of serving-core.yaml and kourier.yaml name them.
var knativeImages = map[string][]string{
	"serving-core.yaml": {
		"gcr.io/knative-releases/knative.dev/serving/cmd/activator@sha256:b6d7d96edd8942d679757249f6aa07373461411104ce7c93309f23fba2884f8f",
		"gcr.io/knative-releases/knative.dev/serving/cmd/autoscaler@sha256:119157d871eb3db5a54944464d9920ad378d35292d4c12fd4a765cd016e24f0f",
		"gcr.io/knative-releases/knative.dev/serving/cmd/controller@sha256:80b9865a585900af6cecead24babe03aa79487e9e6306da1444b04148c21c96f",
		"gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:d313c823f25a09326a7c3c2ec9833c5e005791bc3acb4036ebf33735cbb62bee",
		"gcr.io/knative-releases/knative.dev/serving/cmd/webhook@sha256:732d9cdf7f5fa5c6055d26b1aa5aad40e3d74ba9f2cb76a1db0f0e4d072b7cd0",
	},
	"kourier.yaml": {
		"gcr.io/knative-releases/knative.dev/net-kourier/cmd/kourier@sha256:c9016f34165c5118373c75dcc373d1cd802fe37ffa9e1bce65960942a59bc5f1",
		// The gateway's envoy is a tag in the release (and the artifact).
		"docker.io/envoyproxy/envoy:v1.26-latest",
	},
}

// Systems that run on Knative Serving.
var knativeSystems = []string{"kn-k8s", "kn-kd"}

// AddonKnative names the Knative add-on in Plan.Addons and state.json.
const AddonKnative = "knative"

// addonsFor lists the add-ons systems need, sorted.
func addonsFor(systems []string) []string {
	var out []string
	for _, s := range systems {
		if slices.Contains(knativeSystems, s) && !slices.Contains(out, AddonKnative) {
			out = append(out, AddonKnative)
		}
	}
	sort.Strings(out)
	return out
}

// knativeConfigPatch renders the artifact's config-patch.yaml settings:
// config-autoscaler, config-features and the activator's autoscaler.
func knativeConfigPatch() []byte {
	var b bytes.Buffer
	if err := configPatchTmpl.Execute(&b, map[string]any{"Autoscaler": args(knconfig.Autoscaler), "Features": args(knconfig.Features)}); err != nil {
		panic(err) // the template and its data are constants
	}
	return b.Bytes()
}

var configPatchTmpl = template.Must(template.New("config-patch").Parse(`apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:{{range .Autoscaler}}
  {{.Name}}: "{{.Value}}"{{end}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-features
  namespace: knative-serving
data:{{range .Features}}
  {{.Name}}: "{{.Value}}"{{end}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: activator
  namespace: knative-serving
spec:
  minReplicas: 3
  maxReplicas: 40
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: activator
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 100
`))

// kourierSed makes the artifact's two edits of kourier.yaml: the
// controller's client limits (QPS 400, burst 800; the release's are 200),
// and envoy's dynamic base id, so that a restarted gateway pod does not
// crash on the shared-memory region of the old one.
const kourierSed = `-e '/- name: KUBE_API_BURST$/{n;s/value: "200"/value: "800"/}' -e '/- name: KUBE_API_QPS$/{n;s/value: "200"/value: "400"/}' -e 's/- --base-id 1$/- --use-dynamic-base-id/'`

// fetchManifest downloads url to knativeDir/name, prints its sha256 into
// the log, and fails unless it names each pinned image.
func fetchManifest(url, name string) string {
	var b strings.Builder
	b.WriteString("mkdir -p " + knativeDir + "\ncurl -fsSL " + url + " -o " + knativeDir + "/" + name + ".tmp\n")
	b.WriteString("sha256sum " + knativeDir + "/" + name + ".tmp\n")
	for _, img := range knativeImages[name] {
		b.WriteString("grep -qF 'image: " + img + "' " + knativeDir + "/" + name + ".tmp || { echo '" + url + " does not name " + img + "' >&2; exit 1; }\n")
	}
	return b.String()
}

const (
	knNS        = kubectl + " -n knative-serving"
	kourierNS   = kubectl + " -n kourier-system"
	gatewayIP   = `ip=$(` + kourierNS + ` get service kourier -o jsonpath='{.spec.clusterIP}'); test -n "$ip"`
	knAvailable = `deployment --all --for=condition=Available`
)

// knativeSteps install Knative on the control plane after the nodes are
// Ready, in knative.sh's order.
func knativeSteps() []Step {
	patch := knativeConfigPatch()
	imageChecks := func(ns, deploy, img string) string {
		return ns + ` get deployment ` + deploy + ` -o jsonpath='{range .spec.template.spec.containers[*]}{.image}{"\n"}{end}' | grep -qxF '` + img + `'`
	}
	core := knativeImages["serving-core.yaml"]
	kourier := knativeImages["kourier.yaml"]
	return []Step{{
		Name: "knative-crds", Phase: PhaseAddons, Roles: cpOnly, Timeout: 5 * time.Minute, Retries: 2,
		Check: `test "$(` + kubectl + ` get crd services.serving.knative.dev -o jsonpath='{.metadata.labels.app\.kubernetes\.io/version}' 2>/dev/null)" = ` + strings.TrimPrefix(KnativeVersion, "v"),
		Apply: fetchManifest(knativeServingRelease+"serving-crds.yaml", "serving-crds.yaml") +
			"mv -f " + knativeDir + "/serving-crds.yaml.tmp " + knativeDir + "/serving-crds.yaml\n" +
			kubectl + " apply -f " + knativeDir + "/serving-crds.yaml\n" +
			kubectl + " wait --for=condition=Established crd -l knative.dev/crd-install=true --timeout=2m",
	}, {
		Name: "knative-serving", Phase: PhaseAddons, Roles: cpOnly, Timeout: 10 * time.Minute, Retries: 2,
		Check: imageChecks(knNS, "activator", core[0]) + " && " + imageChecks(knNS, "autoscaler", core[1]) + " && " +
			imageChecks(knNS, "controller", core[2]) + " && " + imageChecks(knNS, "webhook", core[4]) + " && " +
			`test "$(` + knNS + ` get configmap config-deployment -o jsonpath='{.data.queue-sidecar-image}')" = '` + core[3] + `'`,
		Apply: fetchManifest(knativeServingRelease+"serving-core.yaml", "serving-core.yaml") +
			"mv -f " + knativeDir + "/serving-core.yaml.tmp " + knativeDir + "/serving-core.yaml\n" +
			kubectl + " apply -f " + knativeDir + "/serving-core.yaml",
	}, {
		// The artifact's config-patch.yaml; kubectl diff exits 0 when the
		// cluster already holds it.
		Name: "knative-config", Phase: PhaseAddons, Roles: cpOnly, Timeout: 2 * time.Minute, Retries: 3,
		Check: kubectl + " diff -f - >/dev/null <<'KDBENCH_EOF'\n" + strings.TrimRight(string(patch), "\n") + "\nKDBENCH_EOF",
		Apply: "mkdir -p " + knativeDir + "\n" + heredoc(knativeDir+"/config-patch.yaml", patch) + "\n" +
			kubectl + " apply -f " + knativeDir + "/config-patch.yaml",
	}, {
		Name: "kourier", Phase: PhaseAddons, Roles: cpOnly, Timeout: 10 * time.Minute, Retries: 2,
		Check: imageChecks(knNS, "net-kourier-controller", kourier[0]) + " && " +
			knNS + ` get deployment net-kourier-controller -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="KUBE_API_QPS")].value}' | grep -qx 400 && ` +
			kourierNS + ` get deployment 3scale-kourier-gateway -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -qF -- --use-dynamic-base-id`,
		Apply: fetchManifest(kourierRelease, "kourier.yaml") +
			"sed " + kourierSed + " " + knativeDir + "/kourier.yaml.tmp > " + knativeDir + "/kourier.yaml\n" +
			`grep -q 'use-dynamic-base-id' ` + knativeDir + `/kourier.yaml && grep -A1 -- '- name: KUBE_API_QPS$' ` + knativeDir + `/kourier.yaml | grep -q '"400"' || { echo 'kourier.yaml ` + KnativeVersion + ` no longer has the shape the artifact edited' >&2; exit 1; }
` + kubectl + " apply -f " + knativeDir + "/kourier.yaml\n" +
			knNS + " rollout status deployment/net-kourier-controller --timeout=5m\n" +
			kourierNS + " rollout status deployment/3scale-kourier-gateway --timeout=5m",
	}, {
		// knative.sh: Kourier as the ingress, and sslip.io names of its
		// gateway's cluster IP as the domain.
		Name: "knative-ingress", Phase: PhaseAddons, Roles: cpOnly, Timeout: 2 * time.Minute, Retries: 3,
		Check: `test "$(` + knNS + ` get configmap config-network -o jsonpath='{.data.ingress-class}')" = ` + kourierIngressClass + `
` + gatewayIP + `
` + knNS + ` get configmap config-domain -o json | jq -e --arg d "$ip.sslip.io" '.data | has($d)' >/dev/null`,
		Apply: knNS + ` patch configmap/config-network --type merge --patch '{"data":{"ingress-class":"` + kourierIngressClass + `"}}'
` + gatewayIP + `
` + knNS + ` patch configmap/config-domain --type merge --patch "{\"data\":{\"$ip.sslip.io\":\"\"}}"`,
	}, {
		// The artifact's function image on every worker before any pod
		// needs it (its ksvc template: "use crictl or a daemonset to
		// pre-pull the image"), so that a cold start never pulls.
		Name: "function-image", Phase: PhaseAddons, Roles: workers, Timeout: 10 * time.Minute, Retries: 2,
		Check: `ctr -n k8s.io images ls -q | grep -qxF '` + knconfig.FunctionImage + `'`,
		Apply: `ctr -n k8s.io images pull '` + knconfig.FunctionImage + `' >/dev/null`,
	}, {
		Name: "knative-ready", Phase: PhaseAddons, Roles: cpOnly, Timeout: 10 * time.Minute,
		Check: knNS + ` wait ` + knAvailable + ` --timeout=10s >/dev/null && ` + kourierNS + ` wait ` + knAvailable + ` --timeout=10s >/dev/null`,
		Apply: knNS + ` wait ` + knAvailable + ` --timeout=6m && ` + kourierNS + ` wait ` + knAvailable + ` --timeout=3m`,
	}}
}

// knativeVersions lists what the Knative add-on pins, for manifests.
func knativeVersions() map[string]string {
	return map[string]string{"knative-serving": KnativeVersion, "net-kourier": KnativeVersion}
}
