package timeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/kdbench/kdbench/collectors/results"
)

// step is one scripted change at an offset from t0 (the burst starts at 0).
type step struct {
	at time.Duration
	do func(h *fakeAPI)
}

func start(targets map[string]int32) func(*fakeAPI) {
	return func(h *fakeAPI) { require.NoError(h.t, h.c.MarkBurstStart(h.clk.Now(), targets)) }
}

func add(o metav1.Object) func(*fakeAPI) { return func(h *fakeAPI) { h.add(o) } }

func update(k int, name string, change func(metav1.Object)) func(*fakeAPI) {
	return func(h *fakeAPI) { h.update(k, name, change) }
}

func remove(k int, name string) func(*fakeAPI) { return func(h *fakeAPI) { h.remove(k, name) } }

func lose(k int, name string, change func(metav1.Object)) func(*fakeAPI) {
	return func(h *fakeAPI) { h.lose(k, name, change) }
}

func relist(k int) func(*fakeAPI) { return func(h *fakeAPI) { h.relist(k) } }

func restartWatch(k int) func(*fakeAPI) { return func(h *fakeAPI) { h.restartWatch(k) } }

// wantPod is a pod's expected record: milestones as offsets from t0, 0 = unseen.
type wantPod struct {
	fn, pod, node                                          string
	rs, created, scheduled, bound, running, ready, deleted time.Duration
}

func (w wantPod) record(id results.RepID) results.PodRecord {
	ns := func(d time.Duration) int64 {
		if d == 0 {
			return 0
		}
		return t0.Add(d).UnixNano()
	}
	return results.PodRecord{
		System: id.System, QPSProfile: id.QPSProfile, Experiment: "scale-pods", Size: id.Size, Rep: id.Rep,
		Namespace: testNS, Function: w.fn, Pod: w.pod, Node: w.node,
		BurstStart: t0.UnixNano(), RSScaled: ns(w.rs), Created: ns(w.created), Scheduled: ns(w.scheduled),
		Bound: ns(w.bound), Running: ns(w.running), Ready: ns(w.ready), Deleted: ns(w.deleted),
	}
}

const ms = time.Millisecond

// TestScriptedBursts drives the collector through scripted sequences of
// Deployment, ReplicaSet and pod events and checks every timestamp.
func TestScriptedBursts(t *testing.T) {
	one := map[string]int32{"fn-a": 1}
	quiet := []metav1.Object{deploymentObject("fn-a", 0), rsObject("fn-a", 0)}
	for _, tc := range []struct {
		name      string
		initial   []metav1.Object
		steps     []step
		want      []wantPod
		wantReady map[string]bool // ReadyObserved
		wantStats func(*testing.T, Stats)
		wantFns   []Function
	}{
		{
			name:    "every milestone in order",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{1 * ms, update(kindDeployment, "fn-a", setReplicas(1))},
				{2 * ms, update(kindRS, "fn-a-rs", setReplicas(1))},
				{5 * ms, add(newPod("fn-a", "a-1"))},
				{8 * ms, update(kindPod, "a-1", scheduled)},
				{9 * ms, update(kindPod, "a-1", bind("node-3"))},
				{14 * ms, update(kindPod, "a-1", running)},
				{20 * ms, update(kindPod, "a-1", ready)},
				{25 * ms, update(kindPod, "a-1", terminating)},
				{30 * ms, remove(kindPod, "a-1")},
			},
			want: []wantPod{{fn: "fn-a", pod: "a-1", node: "node-3",
				rs: 2 * ms, created: 5 * ms, scheduled: 8 * ms, bound: 9 * ms, running: 14 * ms, ready: 20 * ms, deleted: 30 * ms}},
			wantReady: map[string]bool{"a-1": true},
			wantFns:   []Function{{Name: "fn-a", Target: 1, DeploymentScaled: t0.Add(1 * ms).UnixNano(), RSScaled: t0.Add(2 * ms).UnixNano(), Ready: 1}},
		},
		{
			name:    "one update makes a pod running and ready",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{2 * ms, update(kindRS, "fn-a-rs", setReplicas(1))},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, update(kindPod, "a-1", func(o metav1.Object) { scheduled(o); bind("node-0")(o) })},
				{7 * ms, update(kindPod, "a-1", started)},
			},
			want: []wantPod{{fn: "fn-a", pod: "a-1", node: "node-0",
				rs: 2 * ms, created: 3 * ms, scheduled: 4 * ms, bound: 4 * ms, running: 7 * ms, ready: 7 * ms}},
			wantReady: map[string]bool{"a-1": true},
		},
		{
			name:    "a pod never ready has no ready time",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, update(kindPod, "a-1", bind("node-0"))},
			},
			want:      []wantPod{{fn: "fn-a", pod: "a-1", node: "node-0", created: 3 * ms, bound: 4 * ms}},
			wantReady: map[string]bool{},
		},
		{
			name:    "events before the burst start are not its milestones",
			initial: []metav1.Object{deploymentObject("fn-a", 0), rsObject("fn-a", 0)},
			steps: []step{
				{-9 * ms, update(kindRS, "fn-a-rs", setReplicas(2))}, // not the burst's scale
				{-8 * ms, add(newPod("fn-a", "old"))},
				{-7 * ms, update(kindPod, "old", started)},
				{-6 * ms, update(kindRS, "fn-a-rs", setReplicas(0))},
				{0, start(one)},
				{2 * ms, update(kindRS, "fn-a-rs", setReplicas(1))},
				{3 * ms, update(kindPod, "old", bind("node-9"))}, // still not a burst pod
				{4 * ms, add(newPod("fn-a", "new"))},
				{6 * ms, update(kindPod, "new", started)},
			},
			want:      []wantPod{{fn: "fn-a", pod: "new", rs: 2 * ms, created: 4 * ms, running: 6 * ms, ready: 6 * ms}},
			wantReady: map[string]bool{"new": true},
			wantStats: func(t *testing.T, s Stats) { require.Equal(t, 1, s.Preexisting) },
		},
		{
			name:    "a ReplicaSet is scaled when it reaches the target",
			initial: quiet,
			steps: []step{
				{0, start(map[string]int32{"fn-a": 3})},
				{1 * ms, update(kindDeployment, "fn-a", setReplicas(3))},
				{2 * ms, update(kindRS, "fn-a-rs", setReplicas(2))},
				{3 * ms, update(kindRS, "fn-a-rs", setReplicas(3))},
				{4 * ms, update(kindRS, "fn-a-rs", setReplicas(3))}, // a status update: not a new scale
				{5 * ms, add(newPod("fn-a", "a-1"))},
			},
			want:      []wantPod{{fn: "fn-a", pod: "a-1", rs: 3 * ms, created: 5 * ms}},
			wantReady: map[string]bool{},
			wantFns:   []Function{{Name: "fn-a", Target: 3, DeploymentScaled: t0.Add(1 * ms).UnixNano(), RSScaled: t0.Add(3 * ms).UnixNano()}},
		},
		{
			name:    "a scale down is reached from above",
			initial: []metav1.Object{deploymentObject("fn-a", 2), rsObject("fn-a", 2)},
			steps: []step{
				{0, start(map[string]int32{"fn-a": 0})},
				{1 * ms, update(kindDeployment, "fn-a", setReplicas(0))},
				{2 * ms, update(kindRS, "fn-a-rs", setReplicas(1))},
				{3 * ms, update(kindRS, "fn-a-rs", setReplicas(0))},
			},
			want:      []wantPod{},
			wantReady: map[string]bool{},
			wantFns:   []Function{{Name: "fn-a", Target: 0, DeploymentScaled: t0.Add(1 * ms).UnixNano(), RSScaled: t0.Add(3 * ms).UnixNano()}},
		},
		{
			name: "the function is the owning Deployment, found through the ReplicaSet",
			initial: []metav1.Object{deploymentObject("fn-a", 0), rsObject("fn-a", 0),
				deploymentObject("fn-b", 0), rsObject("fn-b", 0)},
			steps: []step{
				{0, start(map[string]int32{"fn-a": 1, "fn-b": 1})},
				{1 * ms, update(kindRS, "fn-b-rs", setReplicas(1))},
				{2 * ms, add(func() metav1.Object {
					p := newPod("fn-b", "b-1")
					p.Labels = nil // no function label: the owner chain says
					return p
				}())},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, update(kindRS, "fn-a-rs", setReplicas(1))},
			},
			want: []wantPod{
				{fn: "fn-a", pod: "a-1", rs: 4 * ms, created: 3 * ms},
				{fn: "fn-b", pod: "b-1", rs: 1 * ms, created: 2 * ms},
			},
			wantReady: map[string]bool{},
		},
		{
			name:    "a Ready seen only through a relist is timed then and flagged",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, update(kindPod, "a-1", bind("node-1"))},
				{6 * ms, lose(kindPod, "a-1", started)},
				{50 * ms, relist(kindPod)},
			},
			want:      []wantPod{{fn: "fn-a", pod: "a-1", node: "node-1", created: 3 * ms, bound: 4 * ms, running: 50 * ms, ready: 50 * ms}},
			wantReady: map[string]bool{"a-1": false},
			wantStats: func(t *testing.T, s Stats) {
				require.Equal(t, 1, s.ReadyFromList)
				require.Equal(t, 1, s.Pods.Relists)
				require.Equal(t, 1, s.Pods.FromList)
				require.Zero(t, s.Pods.Tombstones)
			},
		},
		{
			name:    "a deletion missed by the watch arrives as a tombstone",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, update(kindPod, "a-1", started)},
				{6 * ms, lose(kindPod, "a-1", nil)},
				{40 * ms, relist(kindPod)},
			},
			want:      []wantPod{{fn: "fn-a", pod: "a-1", created: 3 * ms, running: 4 * ms, ready: 4 * ms, deleted: 40 * ms}},
			wantReady: map[string]bool{"a-1": true},
			wantStats: func(t *testing.T, s Stats) {
				require.Equal(t, 1, s.Pods.Tombstones)
				require.Equal(t, 1, s.Pods.Deletes)
				require.Zero(t, s.ReadyFromList)
			},
		},
		{
			name:    "a watch restart resumes without a relist",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, restartWatch(kindPod)},
				{5 * ms, update(kindPod, "a-1", started)},
			},
			want:      []wantPod{{fn: "fn-a", pod: "a-1", created: 3 * ms, running: 5 * ms, ready: 5 * ms}},
			wantReady: map[string]bool{"a-1": true},
			wantStats: func(t *testing.T, s Stats) {
				require.Equal(t, 1, s.Pods.WatchRestarts)
				require.Zero(t, s.Pods.Relists)
			},
		},
		{
			name:    "a terminating pod that reports Ready is not Ready",
			initial: quiet,
			steps: []step{
				{0, start(one)},
				{3 * ms, add(newPod("fn-a", "a-1"))},
				{4 * ms, update(kindPod, "a-1", terminating)},
				{5 * ms, update(kindPod, "a-1", started)},
			},
			want:      []wantPod{{fn: "fn-a", pod: "a-1", created: 3 * ms, running: 5 * ms}},
			wantReady: map[string]bool{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeAPI(t, tc.initial...)
			for _, s := range tc.steps {
				h.clk.SetTime(t0.Add(s.at))
				s.do(h)
			}
			id := results.RepID{System: "k8s", QPSProfile: "tuned", Size: 1, Rep: 2}
			want := make([]results.PodRecord, len(tc.want))
			for i, w := range tc.want {
				want[i] = w.record(id)
			}
			require.Equal(t, want, h.c.Records(id, "scale-pods"))
			require.Equal(t, tc.wantReady, h.c.ReadyObserved())
			require.Equal(t, len(tc.wantReady), h.c.Ready())
			if tc.wantStats != nil {
				tc.wantStats(t, h.c.Stats())
			}
			if tc.wantFns != nil {
				require.Equal(t, tc.wantFns, h.c.Functions())
			}
		})
	}
}

func TestWaitReadyAndGone(t *testing.T) {
	h := newFakeAPI(t, deploymentObject("fn-a", 0), rsObject("fn-a", 0))
	require.NoError(t, h.c.MarkBurstStart(t0, map[string]int32{"fn-a": 2}))
	require.ErrorContains(t, h.c.MarkBurstStart(t0, nil), "twice")

	var seen []int
	var mu sync.Mutex
	var fromHook []time.Duration
	h.c.OnReady(func(_ string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		fromHook = append(fromHook, d)
	})
	done := make(chan error, 1)
	go func() {
		done <- h.c.WaitReady(context.Background(), 2, func(ready, want int) {
			require.Equal(t, 2, want)
			seen = append(seen, ready)
		})
	}()
	for i, name := range []string{"a-1", "a-2"} {
		h.clk.SetTime(t0.Add(time.Duration(i+1) * ms))
		h.add(newPod("fn-a", name))
		h.update(kindPod, name, started)
	}
	require.NoError(t, <-done)
	require.Equal(t, 2, seen[len(seen)-1])
	require.IsIncreasing(t, seen, "progress reports each new count once")
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(fromHook) == 2 }, 10*time.Second, time.Millisecond)
	require.Equal(t, []time.Duration{1 * ms, 2 * ms}, fromHook)

	// WaitReady for more than there are ends with the count when ctx does.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorContains(t, h.c.WaitReady(ctx, 3, nil), "2 of 3 pods Ready in burst")
	require.ErrorContains(t, h.c.WaitGone(ctx), "2 pods still in burst")

	gone := make(chan error, 1)
	go func() { gone <- h.c.WaitGone(context.Background()) }()
	h.remove(kindPod, "a-1")
	h.lose(kindPod, "a-2", nil)
	h.relist(kindPod) // the last one goes through a tombstone
	require.NoError(t, <-gone)
}

func TestStartFailsWhenTheAPIDoesNotAnswer(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	c := New(cs, testNS, nil, nil) // nil selector and clock: everything, real time
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorContains(t, c.Start(ctx), "informers for burst did not sync")
	c.Stop()
	c.Stop() // idempotent
}

// TestScales: every change of a Deployment's replicas after the start is
// kept with its receive time (the trace replay's scale-ups from zero);
// changes before the start, and updates that keep the replicas, are not.
func TestScales(t *testing.T) {
	h := newFakeAPI(t, deploymentObject("fn-a", 0))
	h.update(kindDeployment, "fn-a", setReplicas(1)) // before the start
	h.update(kindDeployment, "fn-a", setReplicas(0))
	require.NoError(t, h.c.MarkBurstStart(t0, nil))
	at := func(d time.Duration, n int32) {
		h.clk.SetTime(t0.Add(d))
		h.update(kindDeployment, "fn-a", setReplicas(n))
	}
	at(5*ms, 0) // same replicas: a status or label update
	at(10*ms, 2)
	at(20*ms, 0)
	at(30*ms, 1)
	h.clk.SetTime(t0.Add(40 * ms))
	h.add(deploymentObject("fn-b", 3)) // made after the start: a change from 0
	ns := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	require.Equal(t, map[string][]Scale{
		"fn-a": {{At: ns(10 * ms), Replicas: 2}, {At: ns(20 * ms), Replicas: 0}, {At: ns(30 * ms), Replicas: 1}},
		"fn-b": {{At: ns(40 * ms), Replicas: 3}},
	}, h.c.Scales())
}

// TestAddPodHandler: a handler added to the collector sees its pod events
// from the same watch.
func TestAddPodHandler(t *testing.T) {
	h := newFakeAPI(t, deploymentObject("fn-a", 0), rsObject("fn-a", 0))
	var mu sync.Mutex
	var events []string
	require.NoError(t, h.c.AddPodHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { mu.Lock(); defer mu.Unlock(); events = append(events, "add "+obj.(*corev1.Pod).Name) },
		UpdateFunc: func(_, obj any) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, "update "+obj.(*corev1.Pod).Name)
		},
	}))
	h.add(newPod("fn-a", "a-1"))
	h.update(kindPod, "a-1", started)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 2 }, 10*time.Second, time.Millisecond)
	require.Equal(t, []string{"add a-1", "update a-1"}, events)
	require.Equal(t, 1, h.c.Stats().Pods.Adds, "one watch: the collector saw the same add")
}
