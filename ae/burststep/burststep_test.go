package burststep

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/ae"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	_ "github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/workloads/burst"
)

func TestRegisterCoversTheBurstExperiments(t *testing.T) {
	reg := ae.Registry{}
	Register(reg, Runner{})
	for _, k := range ae.Kinds {
		_, isBurst := burst.Shapes[k.Name]
		_, registered := reg[k.Name]
		require.Equal(t, isBurst, registered, k.Name)
	}
	// ae's cost model and burst must agree on scale-nodes' density.
	k, _ := ae.KindOf("scale-nodes")
	require.Equal(t, burst.PodsPerNode, k.PodsPerSize)
}

func TestCheck(t *testing.T) {
	reg := ae.Registry{}
	Register(reg, Runner{})
	step := func(exp, sys string) ae.Step {
		return ae.Step{Experiment: ae.Experiment{Name: exp}, System: sys}
	}
	for _, tt := range []struct {
		step         ae.Step
		notAvailable string
	}{
		{step("scale-pods", "kd"), ""},
		{step("scale-nodes", "k8s+"), ""},
		{step("scale-pods", "kn-k8s"), "system kn-k8s is not built into this kdbench"},
		{step("azure-trace", "kn-model-kd"), "experiment azure-trace is not available in this build"},
		{step("failover", "kd+"), "experiment failover is not available in this build"},
	} {
		err := reg.Check(tt.step)
		if tt.notAvailable == "" {
			require.NoError(t, err)
			continue
		}
		require.True(t, ae.IsNotAvailable(err), "%v", err)
		require.ErrorContains(t, err, tt.notAvailable)
	}
}
