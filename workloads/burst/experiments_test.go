package burst

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		want Plan
		pods int
	}{
		{"scale-pods", 600, Plan{Functions: 1, Replicas: 600}, 600},
		{"scale-funcs", 300, Plan{Functions: 300, Replicas: 1}, 300},
		{"scale-nodes", 2000, Plan{Functions: 1, Replicas: 10000, Nodes: 2000}, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LookupShape(tc.name)
			require.NoError(t, err)
			p := s.Plan(tc.size)
			require.Equal(t, tc.want, p)
			require.Equal(t, tc.pods, p.Pods())
		})
	}
	_, err := LookupShape("scale-everything")
	require.ErrorContains(t, err, `unknown experiment "scale-everything" (known: scale-funcs, scale-nodes, scale-pods)`)
	require.Equal(t, []string{"fn-0", "fn-1"}, functionNames(2))
}
