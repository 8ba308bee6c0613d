package ae

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const minimalProfile = `
version: 1
name: tiny
nodes: 10
cost:
  clusterUp: 10s
  perRep: 1s
  perPod: {"*": 10ms, kd: 1ms}
experiments:
  - name: scale-pods
    systems: [k8s, kd]
    sizes: [100]
    reps: 3
    warmup: 1
`

func TestParseProfile(t *testing.T) {
	edit := func(old, new string) string {
		require.Contains(t, minimalProfile, old)
		return strings.Replace(minimalProfile, old, new, 1)
	}
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"valid", minimalProfile, ""},
		{"bad yaml", "version: [1\n", "yaml"},
		{"unknown field", edit("nodes: 10", "nodes: 10\nnode: 3"), `unknown field "node"`},
		{"wrong version", edit("version: 1", "version: 2"), "version 2: this kdbench reads profile version 1"},
		{"no name", edit("name: tiny", "name: \"\""), "name: must be set"},
		{"unknown experiment", edit("name: scale-pods", "name: scale-pod"), `unknown experiment "scale-pod"`},
		{"unknown system", edit("[k8s, kd]", "[k8s, kdd]"), `unknown system "kdd"`},
		{"duplicate system", edit("[k8s, kd]", "[kd, kd]"), `system "kd" listed twice`},
		{"zero size", edit("sizes: [100]", "sizes: [100, 0]"), "size 0: sizes must be positive"},
		{"negative size", edit("sizes: [100]", "sizes: [-5]"), "size -5: sizes must be positive"},
		{"no sizes", edit("sizes: [100]", "sizes: []"), "no sizes"},
		{"two reps", edit("reps: 3", "reps: 2"), "reps 2: at least 3 measured repetitions"},
		{"negative warmup", edit("warmup: 1", "warmup: -1"), "warmup -1"},
		{"negative unit cost", edit("warmup: 1", "warmup: 1\n    perUnit: -1s"), "perUnit -1s must not be negative"},
		{"bad duration", edit("clusterUp: 10s", "clusterUp: ten"), "time: invalid duration"},
		{"duration not a string", edit("clusterUp: 10s", "clusterUp: 10"), `want a string such as "90s"`},
		{"no default pod cost", edit(`"*": 10ms, `, ""), `needs a default entry "*"`},
		{"listed twice", minimalProfile + "  - name: scale-pods\n    systems: [kd]\n    sizes: [1]\n    reps: 3\n", "listed twice"},
		{"ids tell them apart", minimalProfile + "  - name: scale-pods\n    id: scale-pods-tuned\n    systems: [kd]\n    sizes: [1]\n    reps: 3\n", ""},
		{"nodes on scale-nodes", edit("name: scale-pods", "name: scale-nodes\n    nodes: 5"), "sizes are node counts"},
		{"not yet runnable is valid", edit("[k8s, kd]", "[kn-k8s, dirigent]"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProfile([]byte(tt.yaml))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, p.Steps())
		})
	}
}

func TestParseProfileReportsEveryProblem(t *testing.T) {
	bad := strings.NewReplacer("reps: 3", "reps: 1", "[k8s, kd]", "[k8s, borg]").Replace(minimalProfile)
	_, err := ParseProfile([]byte(bad))
	require.ErrorContains(t, err, "reps 1")
	require.ErrorContains(t, err, `unknown system "borg"`)
}

func TestBuiltinProfiles(t *testing.T) {
	require.ElementsMatch(t, []string{"full", "kick-the-tires"}, ProfileNames())
	for _, name := range ProfileNames() {
		t.Run(name, func(t *testing.T) {
			p, err := LoadProfile(name)
			require.NoError(t, err)
			require.Equal(t, name, p.Name)
			covered := map[string]bool{}
			for _, e := range p.Experiments {
				covered[e.Name] = true
				require.GreaterOrEqual(t, e.Reps, MinReps, e.Name)
			}
			for _, k := range Kinds {
				require.True(t, covered[k.Name], "profile %s does not cover %s (%s)", name, k.Name, k.Figure)
			}
		})
	}
}

// kick-the-tires is promised to fit 30 minutes; its own cost model must say so.
func TestKickTheTiresFitsItsBudget(t *testing.T) {
	p, err := LoadProfile("kick-the-tires")
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, p.Budget.D())
	var total time.Duration
	for _, s := range p.Steps() {
		total += p.Estimate(s)
	}
	require.LessOrEqual(t, total, p.Budget.D(), "estimate %s", total)
	require.Greater(t, total, 10*time.Minute, "an estimate this low means the cost model lost a term")
}

func TestLoadProfileFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	require.NoError(t, os.WriteFile(path, []byte(minimalProfile), 0o644))
	p, err := LoadProfile(path)
	require.NoError(t, err)
	require.Equal(t, "tiny", p.Name)

	_, err = LoadProfile("kick-the-tyres")
	require.ErrorContains(t, err, "no such built-in profile (have full, kick-the-tires)")
	_, err = LoadProfile(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "missing.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(minimalProfile, "reps: 3", "reps: 0", 1)), 0o644))
	_, err = LoadProfile(path)
	require.ErrorContains(t, err, path)
}

func TestEstimate(t *testing.T) {
	p, err := ParseProfile([]byte(minimalProfile))
	require.NoError(t, err)
	p.Cost.PerNode = Duration(100 * time.Millisecond)
	tests := []struct {
		name string
		exp  Experiment
		sys  string
		want time.Duration
	}{
		// one cluster of 10 nodes (11 s), 4 reps × (1 s + 100 pods × 10 ms)
		{"pods at the default cost", Experiment{Name: "scale-pods", Sizes: []int{100}, Reps: 3, Warmup: 1}, "k8s", 11*time.Second + 4*2*time.Second},
		{"pods at the system's cost", Experiment{Name: "scale-pods", Sizes: []int{100}, Reps: 3, Warmup: 1}, "kd", 11*time.Second + 4*1100*time.Millisecond},
		{"a cluster per QPS profile", Experiment{Name: "scale-pods", Sizes: []int{100}, Reps: 3, QPSProfiles: []string{"default", "tuned"}}, "kd", 2 * (11*time.Second + 3*1100*time.Millisecond)},
		// a cluster per size: 10 s + 20 × 0.1 s, 3 reps × (1 s + 100 pods × 1 ms)
		{"scale-nodes: a cluster per size, 5 pods per node", Experiment{Name: "scale-nodes", Sizes: []int{20}, Reps: 3}, "kd", 12*time.Second + 3*1100*time.Millisecond},
		// 4 reps × (1 s + 50 × (10 ms per pod + 90 ms per function))
		{"cost per unit of size", Experiment{Name: "scale-funcs", Sizes: []int{50}, Reps: 3, Warmup: 1, PerUnit: Duration(90 * time.Millisecond)}, "k8s", 11*time.Second + 4*6*time.Second},
		{"fixed repetition length", Experiment{Name: "azure-trace", Sizes: []int{500}, Reps: 3, RepDuration: Duration(time.Minute)}, "kn-model-kd", 11*time.Second + 3*61*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, p.Estimate(Step{Experiment: tt.exp, System: tt.sys, Nodes: p.Nodes}))
		})
	}
}

// TestEstimateFloor: burst steps also pay the floor, tuned once per cluster
// (at the largest size; per size where each size has its own cluster) and
// measured per size and repetition; other experiments do not.
func TestEstimateFloor(t *testing.T) {
	p, err := ParseProfile([]byte(minimalProfile))
	require.NoError(t, err)
	p.Cost.PerNode = Duration(100 * time.Millisecond)
	p.Cost.FloorPerRun, p.Cost.FloorPerPod = Duration(time.Second), Duration(10*time.Millisecond)
	for _, tt := range []struct {
		name string
		exp  Experiment
		want time.Duration // the floor's share
	}{
		// tuning 3 × (1 s + 200 × 10 ms), then 3 reps × (2 s + 3 s)
		{"scale-pods", Experiment{Name: "scale-pods", Sizes: []int{100, 200}, Reps: 3}, 3*3*time.Second + 3*(2+3)*time.Second},
		{"per QPS profile", Experiment{Name: "scale-pods", Sizes: []int{100}, Reps: 1, QPSProfiles: []string{"default", "artifact"}}, 2 * (3*2*time.Second + 2*time.Second)},
		// a cluster per size: tuning per size; 20 nodes are 100 pods
		{"scale-nodes", Experiment{Name: "scale-nodes", Sizes: []int{20}, Reps: 2}, 3*2*time.Second + 2*2*time.Second},
		{"not a burst", Experiment{Name: "azure-trace", Sizes: []int{500}, Reps: 3, RepDuration: Duration(time.Minute)}, 0},
		{"floor off", Experiment{Name: "scale-pods", Sizes: []int{100}, Reps: 3, Params: map[string]string{FloorParam: "false"}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Step{Experiment: tt.exp, System: "kd", Nodes: p.Nodes}
			without := *p
			without.Cost.FloorPerRun, without.Cost.FloorPerPod = 0, 0
			require.Equal(t, tt.want, p.Estimate(s)-without.Estimate(s))
		})
	}
}
