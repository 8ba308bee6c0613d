package kd

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
)

// TestScaleWritesScaleSubresource: kd's burst starts with the same one API
// write as every system's (the Deployment's scale subresource), nothing
// before it; before Prepare it refuses.
func TestScaleWritesScaleSubresource(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prepared bool
		wantErr  string
	}{
		{"prepared", true, ""},
		{"not prepared", false, "before Prepare"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset()
			var got []k8stesting.Action
			cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
				got = append(got, a)
				return true, &autoscalingv1.Scale{}, nil
			})
			sys := New("kd", 0, "")
			if tc.prepared {
				sys.scaler = &adapter.Hop{}
			}
			err := sys.Scale(context.Background(), baselines.Env{Client: cs}, "ns", "fn", 42)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, 1, "one API request: %v", got)
			u, ok := got[0].(k8stesting.UpdateAction)
			require.True(t, ok, "%T", got[0])
			require.Equal(t, "deployments", u.GetResource().Resource)
			require.Equal(t, "scale", u.GetSubresource())
			require.Equal(t, int32(42), u.GetObject().(*autoscalingv1.Scale).Spec.Replicas)
		})
	}
}
