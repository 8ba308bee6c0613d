package timeline

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kdbench/kdbench/collectors/results"
)

const ns = "burst"

var t0 = time.Unix(1_700_000_000, 0)

func newPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1",
		Labels:          map[string]string{FunctionLabel: "fn-0"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "fn-0-abc"}}}}
}

func newRS(replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "fn-0-abc", Namespace: ns, ResourceVersion: "1",
		Labels:          map[string]string{FunctionLabel: "fn-0"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "fn-0"}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas}}
}

// step mutates the cluster at a given offset from the burst start.
type step struct {
	at time.Duration
	do func(ctx context.Context, t *testing.T, cs *fake.Clientset)
}

func updatePod(mutate func(*corev1.Pod)) func(context.Context, *testing.T, *fake.Clientset) {
	return func(ctx context.Context, t *testing.T, cs *fake.Clientset) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "p0", metav1.GetOptions{})
		require.NoError(t, err)
		mutate(p)
		p.ResourceVersion = p.ResourceVersion + "1"
		_, err = cs.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
}

func cond(t corev1.PodConditionType) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue}
}

func TestScriptedBurst(t *testing.T) {
	scaleRS := func(ctx context.Context, t *testing.T, cs *fake.Clientset) {
		rs := newRS(1)
		rs.ResourceVersion = "2"
		_, err := cs.AppsV1().ReplicaSets(ns).Update(ctx, rs, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	create := func(ctx context.Context, t *testing.T, cs *fake.Clientset) {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, newPod("p0"), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	bind := updatePod(func(p *corev1.Pod) {
		p.Spec.NodeName = "kd-node-3"
		p.Status.Conditions = []corev1.PodCondition{cond(corev1.PodScheduled)}
	})
	run := updatePod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning })
	ready := updatePod(func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, cond(corev1.PodReady))
	})
	del := func(ctx context.Context, t *testing.T, cs *fake.Clientset) {
		require.NoError(t, cs.CoreV1().Pods(ns).Delete(ctx, "p0", metav1.DeleteOptions{}))
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		steps []step
		want  results.PodRecord
		ready int
	}{
		{
			name:  "every milestone in order",
			steps: []step{{2 * ms, scaleRS}, {5 * ms, create}, {9 * ms, bind}, {14 * ms, run}, {20 * ms, ready}, {30 * ms, del}},
			want: results.PodRecord{RSScaled: 2e6, Created: 5e6, Scheduled: 9e6, Bound: 9e6, Running: 14e6, Ready: 20e6, Deleted: 30e6,
				Node: "kd-node-3"},
			ready: 1,
		},
		{
			name: "running and ready in one update",
			steps: []step{{1 * ms, scaleRS}, {3 * ms, create}, {4 * ms, bind}, {7 * ms, updatePod(func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Status.Conditions = append(p.Status.Conditions, cond(corev1.PodReady))
			})}},
			want:  results.PodRecord{RSScaled: 1e6, Created: 3e6, Scheduled: 4e6, Bound: 4e6, Running: 7e6, Ready: 7e6, Node: "kd-node-3"},
			ready: 1,
		},
		{
			name:  "never ready",
			steps: []step{{1 * ms, scaleRS}, {3 * ms, create}, {4 * ms, bind}},
			want:  results.PodRecord{RSScaled: 1e6, Created: 3e6, Scheduled: 4e6, Bound: 4e6, Node: "kd-node-3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cs := fake.NewSimpleClientset(newRS(0))
			clk := clocktesting.NewFakePassiveClock(t0)
			c := New(cs, ns, labels.Everything(), clk)
			require.NoError(t, c.Start(ctx))
			defer c.Stop()
			c.MarkBurstStart(t0, map[string]int32{"fn-0": 1})
			events := func() int { s := c.Stats(); return s.PodAdds + s.PodUpdates + s.PodDeletes + s.RSEvents }
			for _, s := range tc.steps {
				before := events()
				clk.SetTime(t0.Add(s.at))
				s.do(ctx, t, cs)
				// Each step must be seen before the clock moves on.
				require.Eventually(t, func() bool { return events() > before }, 10*time.Second, time.Millisecond)
			}
			recs := c.Records(results.RepID{System: "k8s", Size: 1}, "scale-pods")
			require.Len(t, recs, 1)
			got := recs[0]
			want := tc.want
			want.System, want.Experiment, want.Size, want.Namespace, want.Function, want.Pod = "k8s", "scale-pods", 1, ns, "fn-0", "p0"
			want.BurstStart = t0.UnixNano()
			for _, f := range []*int64{&want.RSScaled, &want.Created, &want.Scheduled, &want.Bound, &want.Running, &want.Ready, &want.Deleted} {
				if *f != 0 {
					*f += t0.UnixNano()
				}
			}
			require.Equal(t, want, got)
			require.Equal(t, tc.ready, c.Ready())
		})
	}
}

func TestEventsBeforeBurstStartAreIgnored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := newPod("old")
	old.Status.Conditions = []corev1.PodCondition{cond(corev1.PodReady)}
	cs := fake.NewSimpleClientset(old, newRS(5))
	c := New(cs, ns, labels.Everything(), clocktesting.NewFakePassiveClock(t0))
	require.NoError(t, c.Start(ctx))
	defer c.Stop()
	c.MarkBurstStart(t0, map[string]int32{"fn-0": 1})
	require.Empty(t, c.Records(results.RepID{}, "x"), "a pod that existed before the burst is not part of it")
	require.Zero(t, c.Ready())
}

func TestWaitReadyTimesOutWithCount(t *testing.T) {
	cs := fake.NewSimpleClientset()
	c := New(cs, ns, labels.Everything(), clocktesting.NewFakePassiveClock(t0))
	require.NoError(t, c.Start(context.Background()))
	defer c.Stop()
	c.MarkBurstStart(t0, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var calls int
	err := c.WaitReady(ctx, 3, func(ready, want int) { calls++ })
	require.ErrorContains(t, err, "0 of 3 pods Ready")
	require.Positive(t, calls)
}
