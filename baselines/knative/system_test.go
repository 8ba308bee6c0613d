package knative

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
)

// TestNames: the model runs under its own names; kn-k8s and kn-kd, real
// Knative's names, are refused with a reason naming the model to use.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name, err string
	}{
		{ModelK8s, ""},
		{ModelKd, ""},
		{"kn-k8s", "is refused in this build: it names real Knative Serving 1.15"},
		{"kn-kd", "is refused in this build: it names real Knative Serving 1.15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := baselines.Get(tc.name)
			if tc.err == "" {
				require.NoError(t, err)
				require.Equal(t, tc.name, s.Name())
				return
			}
			require.ErrorContains(t, err, tc.err)
			require.ErrorContains(t, err, "branch kncp")
		})
	}
	_, err := baselines.Get("kn-k8s")
	require.ErrorContains(t, err, ModelK8s+" is kdbench's modelled")
	_, err = baselines.Get("kn-kd")
	require.ErrorContains(t, err, ModelKd+" is kdbench's modelled")
}
