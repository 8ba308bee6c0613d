package autoscaler

import (
	"testing"
	"time"
)

// TestKnativeIsTheArtifactsConfigPatch: kn-model and kn-model-kd run Knative's KPA
// with the settings the Kubedirect artifact gives Knative Serving 1.15, in
// manifests/knative/config-patch.yaml (config-autoscaler) and, where a
// revision overrides it, experiments/trace/config/kd.ksvc.template.yaml.
func TestKnativeIsTheArtifactsConfigPatch(t *testing.T) {
	c := Knative()
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"container-concurrency-target-default × target-percentage (1 × 100 %)", c.Target, 1.0},
		{"containerConcurrency", c.Total, 1.0},
		{"max-scale-up-rate", c.MaxScaleUpRate, 1000.0},
		{"max-scale-down-rate", c.MaxScaleDownRate, 2.0},
		{"panic-threshold-percentage / 100", c.PanicThreshold, 2.0},
		{"stable-window", c.StableWindow, 60 * time.Second},
		{"stable-window × panic-window-percentage (10 %)", c.PanicWindow, 6 * time.Second},
		{"scale-down-delay (the revision's 30s over the global 60s)", c.ScaleDownDelay, 30 * time.Second},
		{"scale-to-zero-grace-period", c.ScaleToZeroGrace, 15 * time.Minute},
		{"KPA, not Dirigent's lifecycle", c.Dirigent, false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, the artifact's is %v", tc.key, tc.got, tc.want)
		}
	}
}
