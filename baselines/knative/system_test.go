package knative

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/workloads/replay"
)

// TestNames: the model runs under its own names; kn-k8s and kn-kd are
// real Knative over k8s and kd, stating so.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name, over, knative string
		real                bool
	}{
		{ModelK8s, "k8s", "model", false},
		{ModelKd, "kd", "model", false},
		{RealK8s, "k8s", "v0.42.2 (Knative Serving 1.15)", true},
		{RealKd, "kd", "v0.42.2 (Knative Serving 1.15)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := baselines.Get(tc.name)
			require.NoError(t, err)
			require.Equal(t, tc.name, s.Name())
			_, isReal := s.(*Real)
			require.Equal(t, tc.real, isReal)
			f := s.(interface{ FrontEndFacts() replay.FrontEndFacts }).FrontEndFacts()
			require.Equal(t, tc.over, f.Over)
			require.Equal(t, tc.knative, f.Knative)
		})
	}
}

// TestServingModuleIsGoMod: the version every result records is the one
// kdbench is built with.
func TestServingModuleIsGoMod(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	mod, version, ok := strings.Cut(ServingModule, " ")
	require.True(t, ok, ServingModule)
	require.Regexp(t, `(?m)^\s*`+regexp.QuoteMeta(mod)+`\s+`+regexp.QuoteMeta(version)+`\s*$`, string(b), "go.mod requires another %s", mod)
}

// TestFrontEndFacts: the model says it is the model, over its inner
// system, with only the KPA decider real.
func TestFrontEndFacts(t *testing.T) {
	for _, tc := range []struct{ name, over string }{{ModelK8s, "k8s"}, {ModelKd, "kd"}} {
		s, err := baselines.Get(tc.name)
		require.NoError(t, err)
		f := s.(*System).FrontEndFacts()
		require.Equal(t, "model", f.Knative)
		require.Equal(t, tc.over, f.Over)
		require.Len(t, f.Real, 1)
		require.Contains(t, f.Real[0], "autoscaler/kpa-decider: "+ServingModule)
		for _, c := range []string{"activator", "controller", "queue-proxy", "webhook"} {
			require.True(t, slices.ContainsFunc(f.Modelled, func(m string) bool { return strings.HasPrefix(m, c+": ") }), "%s not listed as modelled in %v", c, f.Modelled)
		}
	}
}
