package floor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestP90(t *testing.T) {
	start := time.Unix(100, 0)
	ms := func(d int) int64 { return start.Add(time.Duration(d) * time.Millisecond).UnixNano() }
	for _, tc := range []struct {
		name  string
		ready []int64
		want  time.Duration
	}{
		{"index floor(0.9 n) of ten", []int64{ms(10), ms(1), ms(2), ms(3), ms(4), ms(5), ms(6), ms(7), ms(8), ms(9)}, 10 * time.Millisecond},
		{"one pod", []int64{ms(42)}, 42 * time.Millisecond},
		{"a pod never Ready", []int64{ms(1), 0}, 0},
		{"no pods", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Result{Start: start}
			for _, rd := range tc.ready {
				r.Pods = append(r.Pods, Pod{Ready: rd})
			}
			require.Equal(t, tc.want, r.P90())
		})
	}
}

func TestBest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trials []Trial
		want   int
	}{
		{"fastest", []Trial{{8, 300 * time.Millisecond}, {32, 200 * time.Millisecond}, {128, 250 * time.Millisecond}}, 32},
		{"tie goes to the lower", []Trial{{32, time.Second}, {8, time.Second}}, 8},
		{"unmeasured trials ignored", []Trial{{8, 0}, {32, time.Second}}, 32},
		{"none", []Trial{{8, 0}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, Best(tc.trials)) })
	}
}

func TestRecords(t *testing.T) {
	r := Result{Namespace: "ns", Start: time.Unix(0, 1000), Pods: []Pod{{Name: "floor-00000", Node: NodePrefix + "0", Created: 2000, Written: 3000, Ready: 3500}}}
	recs := r.Records()
	require.Len(t, recs, 1)
	p := recs[0]
	require.Equal(t, []any{"ns", System, "floor-00000", NodePrefix + "0", int64(1000), int64(2000), int64(3000), int64(3500)},
		[]any{p.Namespace, p.Function, p.Pod, p.Node, p.BurstStart, p.Created, p.Running, p.Ready})
}

func TestPodIPsUniqueAndApart(t *testing.T) {
	seen := map[string]bool{}
	for i := range 5000 {
		ip := podIP(i)
		require.False(t, seen[ip.String()], "pod %d reuses %s", i, ip)
		seen[ip.String()] = true
		require.False(t, ip.IsLoopback())
		b := ip.As4()
		require.Equal(t, byte(10), b[0])
		require.True(t, b[1] >= 64 && b[1] < 128, "%s outside 10.64.0.0/10 (node agents use 10.128.0.0/9 and 10.0.0.0/10)", ip)
	}
}

func TestRunningStatusIsReady(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "fn", Image: "alpine:3.20"}}}}
	p.Status = runningStatus(p, 7, time.Unix(5, 0))
	require.True(t, isReady(p))
	require.Equal(t, corev1.PodRunning, p.Status.Phase)
	require.Len(t, p.Status.ContainerStatuses, 1)
	require.True(t, p.Status.ContainerStatuses[0].Ready)
	require.Equal(t, "10.64.0.7", p.Status.PodIP)
}

func TestRate(t *testing.T) {
	start := time.Unix(0, 1_000_000_000)
	for _, tc := range []struct {
		pods []Pod
		want string
	}{
		{[]Pod{{Written: 1_100_000_000}, {Written: 1_200_000_000}}, "4 requests in 200 ms, 20/s"},
		{nil, "no requests"},
	} {
		if got := (Result{Start: start, Pods: tc.pods}).Rate(); got != tc.want {
			t.Errorf("Rate(%v) = %q, want %q", tc.pods, got, tc.want)
		}
	}
}
