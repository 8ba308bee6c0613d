package burst

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/selfcheck"
)

func hopLine(hop, peer, kind, ns, name, phase string, replicas int32, sent, recv int64) string {
	return fmt.Sprintf(`{"hop":%q,"peer":%q,"kind":%q,"namespace":%q,"name":%q,"phase":%q,"replicas":%d,"sentNs":%d,"recvNs":%d}`,
		hop, peer, kind, ns, name, phase, replicas, sent, recv)
}

func TestHopBreakdown(t *testing.T) {
	const ms = int64(1e6)
	// Two pods of ReplicaSet fn-rs; pod b's stages are twice pod a's. A
	// third pod lacks its node-agent timing and is left out.
	recs := []results.PodRecord{
		{Namespace: "ns", Pod: "fn-rs-a", BurstStart: 0, Ready: 100 * ms},
		{Namespace: "ns", Pod: "fn-rs-b", BurstStart: 0, Ready: 150 * ms},
		{Namespace: "ns", Pod: "fn-rs-c", BurstStart: 0, Ready: 150 * ms},
	}
	hops := map[string][]byte{
		"kd-replicaset": []byte(hopLine("replicaset", "deployment", "ReplicaSet", "ns", "fn-rs", "", 2, 20*ms, 21*ms) + "\n" +
			hopLine("replicaset", "deployment", "ReplicaSet", "ns", "fn-rs", "", 0, 1*ms, 2*ms) + "\n"),
		"kd-scheduler": []byte(hopLine("scheduler", "replicaset", "Pod", "ns", "fn-rs-a", "", 0, 25*ms, 26*ms) + "\n" +
			hopLine("scheduler", "replicaset", "Pod", "ns", "fn-rs-b", "", 0, 30*ms, 32*ms) + "\n" +
			hopLine("scheduler", "replicaset", "Pod", "ns", "fn-rs-c", "", 0, 30*ms, 32*ms) + "\n"),
		"kd-nodeagent": []byte(hopLine("nodeagent", "scheduler", "Pod", "ns", "fn-rs-a", "Bound", 0, 40*ms, 41*ms) + "\n" +
			hopLine("nodeagent", "scheduler", "Pod", "ns", "fn-rs-b", "Bound", 0, 60*ms, 62*ms) + "\n" +
			hopLine("nodeagent", "scheduler", "Pod", "ns", "fn-rs-c", "Bound", 0, 60*ms, 62*ms) + "\n"),
	}
	timings := []selfcheck.PodTiming{
		{Namespace: "ns", Name: "fn-rs-a", ReadyWrittenNs: 90 * ms},
		{Namespace: "ns", Name: "fn-rs-b", ReadyWrittenNs: 140 * ms},
	}
	stages, pods, err := HopBreakdown(recs, hops, timings)
	require.NoError(t, err)
	require.Equal(t, 2, pods)
	var b strings.Builder
	require.NoError(t, WriteHopBreakdown(&b, "kd (artifact) size 2 rep 0", pods, stages))
	path := filepath.Join("testdata", "hopbreakdown.golden.txt")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())

	for _, tc := range []struct {
		name    string
		hops    map[string][]byte
		timings []selfcheck.PodTiming
		err     string
	}{
		{"no timings", hops, nil, "no pod has every hop timestamp"},
		{"a bad line", map[string][]byte{"kd-scheduler": []byte("{not json\n")}, timings, "kd-scheduler /hops line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := HopBreakdown(recs, tc.hops, tc.timings)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// TestHopBreakdownNodeSplit: with the agent's create and write timings the
// node side splits into waits and API calls that add up to it, and the
// load lines report concurrency, throttling and rate; one pod without the
// split keeps the single node-side stage.
func TestHopBreakdownNodeSplit(t *testing.T) {
	const ms = int64(1e6)
	recs := []results.PodRecord{
		{Namespace: "ns", Pod: "fn-rs-a", BurstStart: 0, Ready: 400 * ms},
		{Namespace: "ns", Pod: "fn-rs-b", BurstStart: 0, Ready: 500 * ms},
	}
	hops := map[string][]byte{
		"kd-replicaset": []byte(hopLine("replicaset", "deployment", "ReplicaSet", "ns", "fn-rs", "", 2, 20*ms, 21*ms) + "\n"),
		"kd-scheduler": []byte(hopLine("scheduler", "replicaset", "Pod", "ns", "fn-rs-a", "", 0, 25*ms, 26*ms) + "\n" +
			hopLine("scheduler", "replicaset", "Pod", "ns", "fn-rs-b", "", 0, 30*ms, 32*ms) + "\n"),
		"kd-nodeagent": []byte(hopLine("nodeagent", "scheduler", "Pod", "ns", "fn-rs-a", "Bound", 0, 40*ms, 41*ms) + "\n" +
			hopLine("nodeagent", "scheduler", "Pod", "ns", "fn-rs-b", "Bound", 0, 60*ms, 62*ms) + "\n"),
	}
	// a: create slower than the 200 ms sandbox; b: the sandbox slower.
	timings := []selfcheck.PodTiming{
		{Namespace: "ns", Name: "fn-rs-a", BoundSeenNs: 41 * ms, SandboxDoneNs: 241 * ms, CreateSentNs: 51 * ms, CreatedNs: 301 * ms,
			CreatesInFlight: 2, CreateThrottledNs: 4 * ms, WriteSentNs: 311 * ms, WritesInFlight: 1, ReadyWrittenNs: 391 * ms},
		{Namespace: "ns", Name: "fn-rs-b", BoundSeenNs: 62 * ms, SandboxDoneNs: 262 * ms, CreateSentNs: 62 * ms, CreatedNs: 162 * ms,
			CreatesInFlight: 1, WriteSentNs: 402 * ms, WritesInFlight: 2, WriteThrottledNs: 2 * ms, ReadyWrittenNs: 482 * ms},
	}
	stages, pods, err := HopBreakdown(recs, hops, timings)
	require.NoError(t, err)
	require.Equal(t, 2, pods)
	require.Len(t, stages, len(hopStageNames)+len(nodeSideSplit)-1)
	var b strings.Builder
	require.NoError(t, WriteHopBreakdown(&b, "kd+ (artifact) size 2 rep 0", pods, stages))
	require.NoError(t, WriteNodeLoad(&b, timings))
	path := filepath.Join("testdata", "hopbreakdown_split.golden.txt")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())

	timings[1].CreateSentNs = 0 // a pod the agent adopted without timing its create
	stages, _, err = HopBreakdown(recs, hops, timings)
	require.NoError(t, err)
	require.Len(t, stages, len(hopStageNames))
}
