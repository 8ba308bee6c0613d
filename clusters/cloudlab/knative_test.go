package cloudlab

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kdbench/kdbench/baselines/knative/knconfig"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

func TestAddonsFor(t *testing.T) {
	for _, tc := range []struct {
		systems []string
		want    []string
	}{
		{nil, nil},
		{[]string{"k8s", "kd+", "dirigent"}, nil},
		{[]string{"k8s", "kn-k8s"}, []string{AddonKnative}},
		{[]string{"kn-kd", "kn-k8s"}, []string{AddonKnative}},
	} {
		require.Equal(t, tc.want, addonsFor(tc.systems), "%v", tc.systems)
	}
}

// TestKnativeStepsGolden: the scripts the control plane runs to install
// Knative, as sent (check and apply of each step, with the node's
// variables). Review the diff of testdata/knative-steps.txt on change.
func TestKnativeStepsGolden(t *testing.T) {
	p, err := NewPlan(paperInventory(t), PlanOptions{QPSProfile: "artifact", KdbenchBinary: fakeBinary, Addons: []string{AddonKnative}})
	require.NoError(t, err)
	require.Equal(t, []string{AddonKnative}, p.Addons)
	r := &runner{plan: p, exports: map[string]string{}}
	cp := p.Inventory.Nodes[0]
	var b bytes.Buffer
	var names []string
	for _, s := range p.StepsFor(cp) {
		if !strings.HasPrefix(s.Name, "knative") && s.Name != "kourier" {
			continue
		}
		names = append(names, s.Name)
		require.Equal(t, PhaseAddons, s.Phase, s.Name)
		for _, action := range []string{"check", "apply"} {
			cmd := map[string]string{"check": s.Check, "apply": s.Apply}[action]
			b.WriteString(r.script(cp, s, action, cmd))
			b.WriteString("\n")
		}
	}
	// knative.sh's order, after the nodes are Ready; workers only pull
	// the function image.
	require.Equal(t, []string{"knative-crds", "knative-serving", "knative-config", "kourier", "knative-ingress", "knative-ready"}, names)
	var pull []Step
	for _, s := range p.StepsFor(p.Inventory.Nodes[1]) {
		require.NotContains(t, s.Name, "knative")
		if s.Name == "function-image" {
			pull = append(pull, s)
		}
	}
	require.Len(t, pull, 1)
	require.Equal(t, "ctr -n k8s.io images pull 'docker.io/shengqipku/kubedirect-bench:dev' >/dev/null", pull[0].Apply)
	for _, s := range p.StepsFor(cp) {
		require.NotEqual(t, "function-image", s.Name, "the control plane runs no function")
	}
	golden(t, "knative-steps.txt", b.Bytes())

	var plan bytes.Buffer
	require.NoError(t, WritePlan(&plan, p))
	require.Contains(t, plan.String(), "QPS profile artifact, add-ons knative\n")
}

// The pins: the release of the artifact (1.15.0), its images by digest,
// checked in the downloaded manifests and in the running deployments.
func TestKnativePinned(t *testing.T) {
	require.Equal(t, "v1.15.0", KnativeVersion)
	steps := map[string]Step{}
	for _, s := range knativeSteps() {
		steps[s.Name] = s
	}
	require.Contains(t, steps["knative-crds"].Apply, "https://github.com/knative/serving/releases/download/knative-v1.15.0/serving-crds.yaml")
	require.Contains(t, steps["knative-serving"].Apply, "https://github.com/knative/serving/releases/download/knative-v1.15.0/serving-core.yaml")
	require.Contains(t, steps["kourier"].Apply, "https://github.com/knative/net-kourier/releases/download/knative-v1.15.0/kourier.yaml")
	for file, step := range map[string]string{"serving-core.yaml": "knative-serving", "kourier.yaml": "kourier"} {
		for _, img := range knativeImages[file] {
			require.Contains(t, steps[step].Apply, "grep -qF 'image: "+img+"'", "%s: the download must name %s", step, img)
			if strings.Contains(img, "@sha256:") && !strings.Contains(img, "/queue@") {
				require.Contains(t, steps[step].Check, img, "%s: the running deployment must run %s", step, img)
			}
		}
	}
	require.Contains(t, steps["knative-serving"].Check, "queue-sidecar-image}')\" = '"+knativeImages["serving-core.yaml"][3]+"'")
}

// TestKnativeConfigPatch: the artifact's config-patch.yaml settings, as
// valid ConfigMaps.
func TestKnativeConfigPatch(t *testing.T) {
	docs := strings.Split(string(knativeConfigPatch()), "\n---\n")
	require.Len(t, docs, 3)
	var cms []corev1.ConfigMap
	for _, d := range docs[:2] {
		var cm corev1.ConfigMap
		require.NoError(t, yaml.UnmarshalStrict([]byte(d), &cm))
		require.Equal(t, "knative-serving", cm.Namespace)
		cms = append(cms, cm)
	}
	require.Equal(t, "config-autoscaler", cms[0].Name)
	require.Equal(t, knconfig.Autoscaler, cms[0].Data)
	for k, v := range map[string]string{
		"container-concurrency-target-default": "1", "target-burst-capacity": "-1", "stable-window": "60s",
		"scale-to-zero-grace-period": "15m", "max-scale-up-rate": "1000.0", "pod-autoscaler-class": "kpa.autoscaling.knative.dev",
	} {
		require.Equal(t, v, cms[0].Data[k], k)
	}
	require.Equal(t, "config-features", cms[1].Name)
	require.Equal(t, knconfig.Features, cms[1].Data)
	require.Contains(t, docs[2], "kind: HorizontalPodAutoscaler")
	require.Contains(t, docs[2], "minReplicas: 3\n  maxReplicas: 40")
}

// The part of Kourier's release manifest the bootstrap edits.
const kourierExcerpt = `            - name: KUBE_API_BURST
              value: "200"
            - name: KUBE_API_QPS
              value: "200"
          ports:
            - name: http2-xds
---
        - args:
            - --base-id 1
            - -c /tmp/config/envoy-bootstrap.yaml
`

// TestKourierEdit runs the bootstrap's sed over the manifest's shape: the
// artifact's client limits and envoy's dynamic base id.
func TestKourierEdit(t *testing.T) {
	bash, err := supervisor.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	out, err := supervisor.Output(t.Context(), supervisor.Command{Path: bash, Args: []string{"-c", "sed " + kourierSed}, Stdin: strings.NewReader(kourierExcerpt)})
	require.NoError(t, err, "%s", out)
	want := strings.NewReplacer("KUBE_API_BURST\n              value: \"200\"", "KUBE_API_BURST\n              value: \"800\"",
		"KUBE_API_QPS\n              value: \"200\"", "KUBE_API_QPS\n              value: \"400\"",
		"- --base-id 1", "- --use-dynamic-base-id").Replace(kourierExcerpt)
	require.Equal(t, want, string(out))
}

// The systems decide the add-ons; an add-on installed once stays checked
// by later ups (a run of k8s alone must not forget Knative); the processes
// control plane, made for hosts without the internet, installs none.
func TestProviderAddons(t *testing.T) {
	root := t.TempDir()
	inv := filepath.Join(root, "hosts")
	require.NoError(t, os.WriteFile(inv, []byte("cp root@10.0.0.1 10.10.1.1\nw1 root@10.0.0.2 10.10.1.2\n"), 0o644))
	plan := func(systems ...string) *Plan {
		p := New(Options{Root: root, Inventory: inv, KdbenchBinary: fakeBinary, Systems: systems})
		pl, err := p.Plan(clusters.Spec{Name: "kdbench", QPSProfile: "artifact"})
		require.NoError(t, err)
		return pl
	}
	has := func(pl *Plan) bool {
		for _, s := range pl.Steps {
			if s.Name == "knative-serving" {
				return true
			}
		}
		return false
	}
	require.False(t, has(plan("k8s", "kd")), "no system uses Knative")
	pl := plan("k8s", "kn-kd")
	require.True(t, has(pl))
	d, err := New(Options{Root: root}).workDir("kdbench")
	require.NoError(t, err)
	require.NoError(t, d.mkdirs())
	sf := &stateFile{path: d.State(), s: &State{Name: "kdbench", QPSProfile: "artifact", Inventory: pl.Inventory, Addons: pl.Addons}}
	require.NoError(t, sf.write())
	require.True(t, has(plan("k8s")), "Knative, installed before, stays checked")

	var progress bytes.Buffer
	p := New(Options{Root: t.TempDir(), Inventory: inv, KdbenchBinary: fakeBinary, Systems: []string{"kn-k8s"},
		ControlPlane: ControlPlaneProcesses, K8sBinDir: t.TempDir(), Progress: &progress})
	if pl, err := p.Plan(clusters.Spec{Name: "kdbench", Nodes: 2}); err == nil {
		require.False(t, has(pl))
	}
	require.Contains(t, progress.String(), "--control-plane processes installs no add-ons: not [knative]")
}
