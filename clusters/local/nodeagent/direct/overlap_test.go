package direct

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/kubedirect/egress"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// slowAPI is a fake API server that gives created objects a UID, as the
// real one does, and answers pod creates after createDelay.
func slowAPI(createDelay time.Duration, objs ...runtime.Object) *fake.Clientset {
	api := fake.NewClientset(objs...)
	api.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "" {
			return false, nil, nil
		}
		obj := a.(k8stesting.CreateAction).GetObject()
		if m, err := meta.Accessor(obj); err == nil && m.GetUID() == "" {
			m.SetUID(uuid.NewUUID())
		}
		if _, ok := obj.(*corev1.Pod); ok {
			time.Sleep(createDelay)
		}
		if err := api.Tracker().Create(a.GetResource(), obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
	return api
}

// TestBindToReadyOverlapsCreate runs the whole node side on the wall
// clock: a scheduler hop binds a pod over a real link to an agent in direct
// mode whose API server takes createDelay to create it. Bind arrival →
// Ready is max(sandbox delay, create) plus the status write, not their sum;
// the pod is handed to the lifecycle before the create returns.
func TestBindToReadyOverlapsCreate(t *testing.T) {
	const delay = 400 * time.Millisecond
	tests := []struct {
		name     string
		create   time.Duration
		min, max time.Duration // bound on arrival → Ready
	}{
		// The sum would be 700ms.
		{"create within the sandbox delay", 300 * time.Millisecond, delay, delay + 250*time.Millisecond},
		// Ready waits for the create.
		{"create beyond the sandbox delay", 700 * time.Millisecond, 700 * time.Millisecond, 700*time.Millisecond + 250*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fn-abc", UID: "rs-uid",
				Labels: map[string]string{egress.ManagedLabel: "true"}},
				Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{egress.ManagedLabel: "true"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "alpine"}}}}}}
			api := slowAPI(tt.create, rs)
			cfg := nodeagent.Config{Nodes: 2, SandboxDelay: delay}
			src, err := New(api, Config{Listen: "127.0.0.1:0", NodePrefix: nodeagent.DefaultNamePrefix})
			require.NoError(t, err)
			timings := make(chan nodeagent.PodTiming, 4)
			agent, err := nodeagent.New(api, cfg, nodeagent.WithPodSource(src),
				nodeagent.WithObserver(nodeagent.ObserverFunc(func(pt nodeagent.PodTiming) { timings <- pt; src.PodReady(pt) })))
			require.NoError(t, err)
			go func() { _ = agent.Run(ctx) }()
			require.NoError(t, agent.WaitForNodes(ctx))
			addr, err := src.Addr(ctx)
			require.NoError(t, err)

			sched := startScheduler(ctx, t, addr)

			sent := time.Now()
			require.NoError(t, sched.Write(ctx, wire.Record{Kind: wire.KindPod, Phase: wire.PhaseBound, Namespace: "ns", Name: "fn-abc-1",
				UID: "link-uid", Owner: "fn-abc", Node: "kd-node-1", CreatedNs: time.Now().UnixNano()}))
			require.Eventually(t, func() bool {
				for _, p := range agent.Pods() {
					if p.Name == "fn-abc-1" {
						return true
					}
				}
				return false
			}, 10*time.Second, time.Millisecond, "the pod is tracked")
			if took := time.Since(sent); took < tt.create {
				// Only meaningful if the check ran before the create could finish.
				_, err := api.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), "ns", "fn-abc-1")
				require.Error(t, err, "tracked %s after the bind, before the create's %s: the pod must not exist yet", took, tt.create)
			}

			select {
			case pt := <-timings:
				took := pt.Ready.Sub(pt.Bound)
				require.GreaterOrEqual(t, pt.Bound, sent.Add(-time.Millisecond), "bound is taken at link receipt")
				require.Less(t, pt.Bound.Sub(sent), 100*time.Millisecond, "bound is taken at link receipt, not after the create")
				require.True(t, took >= tt.min && took < tt.max,
					fmt.Sprintf("arrival → Ready took %s, want in [%s, %s) (sandbox %s, create %s)", took, tt.min, tt.max, delay, tt.create))
			case <-ctx.Done():
				t.Fatal("the pod never turned Ready")
			}
			require.Eventually(t, func() bool {
				r, ok := sched.Store().Get(wire.Key{Kind: wire.KindPod, Namespace: "ns", Name: "fn-abc-1"})
				return ok && r.Phase == wire.PhaseRunning
			}, 10*time.Second, 5*time.Millisecond, "Ready is reported upstream as Running")
		})
	}
}
