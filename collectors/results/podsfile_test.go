package results

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPodsFile(t *testing.T) {
	dir := t.TempDir()
	pods := []PodRecord{
		{System: "kn-kd", Experiment: "azure-trace", Namespace: "trace", Function: "fn0-a1", Pod: "fn0-a1-x", Node: "w1-0", Created: 10, Bound: 20, Ready: 30},
		{System: "kn-kd", Experiment: "azure-trace", Namespace: "trace", Function: "fn1-b2", Pod: "fn1-b2-y", Node: "w2-1", Created: 11},
	}
	cases := []struct {
		name    string
		pods    []PodRecord
		wantErr string
	}{
		{"round trip", pods, ""},
		{"no pods: the header alone", nil, ""},
		{"negative timestamp", []PodRecord{{Pod: "p", Ready: -1}}, "negative ready timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "kn-kd_pods.csv")
			_ = os.Remove(path)
			err := WritePodsFile(path, c.pods)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				_, serr := os.Stat(path)
				require.ErrorIs(t, serr, os.ErrNotExist, "nothing half-written")
				return
			}
			require.NoError(t, err)
			got, err := ReadPodsFile(path)
			require.NoError(t, err)
			require.Len(t, got, len(c.pods))
			for i := range c.pods {
				require.Equal(t, c.pods[i], got[i])
			}
		})
	}
	_, err := ReadPodsFile(filepath.Join(dir, "missing.csv"))
	require.Error(t, err)
}
