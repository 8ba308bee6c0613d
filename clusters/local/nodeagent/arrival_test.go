package nodeagent

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// linkSource stands for a direct source: it hands the test the agent's sink
// and claims the managed pods, as direct.Source does.
type linkSource struct{ sink chan PodSink }

func (s *linkSource) Run(ctx context.Context, sink PodSink) error {
	s.sink <- sink
	<-ctx.Done()
	return nil
}

func (s *linkSource) HasSynced() bool { return true }

func (s *linkSource) Claims(p *corev1.Pod) bool { return p.Labels[managedLabel] == "true" }

const managedLabel = "kubedirect.io/managed"

// linkPod is a managed pod as the link delivers it (no UID, its identity in
// an annotation) and, with uid set, as the source creates it.
func linkPod(name, node, identity string, uid types.UID) *corev1.Pod {
	p := boundPod(name, node)
	p.UID = uid
	p.Labels = map[string]string{managedLabel: "true"}
	p.Annotations = map[string]string{IdentityAnnotation: identity}
	return p
}

func startLinked(t *testing.T, cfg Config, opts ...Option) (*harness, PodSink) {
	t.Helper()
	src := &linkSource{sink: make(chan PodSink, 1)}
	h := newHarness(t, cfg, nil, append(opts, WithPodSource(src))...).start()
	return h, <-src.sink
}

// The sandbox starts when the bind arrives and the API create runs beside
// it: a pod is Ready max(delay, create) after arrival (plus the status
// write, instant on the fake clock), not their sum.
func TestArrivalOverlapsCreate(t *testing.T) {
	tests := []struct {
		name          string
		delay, create time.Duration
	}{
		{"create faster than the sandbox", 200 * time.Millisecond, 150 * time.Millisecond},
		{"create slower than the sandbox", 200 * time.Millisecond, 300 * time.Millisecond},
		{"create as slow as the sandbox", 200 * time.Millisecond, 200 * time.Millisecond},
		{"no sandbox delay", 0, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timings := make(chan PodTiming, 4)
			h, sink := startLinked(t, Config{Nodes: 2, SandboxDelay: tt.delay},
				WithObserver(ObserverFunc(func(pt PodTiming) { timings <- pt })))
			key := types.NamespacedName{Namespace: "default", Name: "fn-1"}

			sink.PodArriving(linkPod("fn-1", "kd-node-1", "link-1", ""))
			if got := h.agent.Pods(); len(got) != 1 || got[0].State != "creating" || !got[0].Bound.Equal(epoch) {
				t.Fatalf("tracked %+v after arrival, want one pod creating since %s", got, epoch)
			}
			h.clock.Step(tt.create)
			sink.PodBound(h.createPod(linkPod("fn-1", "kd-node-1", "link-1", "api-uid-1")))
			if rest := tt.delay - tt.create; rest > 0 {
				if ev := h.waitSynced(key); ev.after != rest || ev.err != nil {
					t.Fatalf("sync after the create = wait %s, err %v; want the sandbox's remaining %s", ev.after, ev.err, rest)
				}
				if p, _ := h.getPod("default", "fn-1"); isRunningAndReady(p) {
					t.Fatal("Ready before the sandbox delay")
				}
				h.clock.Step(rest)
			}
			h.waitReady("default", "fn-1")
			select {
			case pt := <-timings:
				want := max(tt.delay, tt.create)
				if !pt.Bound.Equal(epoch) || pt.Ready.Sub(pt.Bound) != want || pt.UID != "api-uid-1" {
					t.Errorf("timing %+v: bound→Ready %s, want %s from arrival at %s (uid api-uid-1)", pt, pt.Ready.Sub(pt.Bound), want, epoch)
				}
			case <-time.After(waitTimeout):
				t.Fatal("observer not told")
			}
			if got := h.metric("kdbench_nodeagent_pods_started_total"); got != 1 {
				t.Errorf("pods started %g, want 1 (one status write)", got)
			}
		})
	}
}

// The agent's informer may show the created pod before the source's
// PodBound: either adopts the arrival, neither restarts its clock.
func TestArrivalAdoptedByInformer(t *testing.T) {
	h, sink := startLinked(t, Config{Nodes: 1, SandboxDelay: 200 * time.Millisecond})
	sink.PodArriving(linkPod("fn-1", "kd-node-0", "link-1", ""))
	h.clock.Step(50 * time.Millisecond)
	h.createPod(linkPod("fn-1", "kd-node-0", "link-1", "api-uid-1")) // only the informer tells the agent
	h.eventually("the arrival adopted", func() (bool, error) {
		p := h.agent.Pods()
		return len(p) == 1 && p[0].UID == "api-uid-1" && p[0].State == "bound" && p[0].Bound.Equal(epoch), nil
	})
	h.eventuallyAdvancing("Ready", 10*time.Millisecond, func() (bool, error) {
		p, err := h.getPod("default", "fn-1")
		return err == nil && isRunningAndReady(p), nil
	})
	if p, _ := h.getPod("default", "fn-1"); !p.Status.StartTime.Time.Equal(epoch) {
		t.Errorf("startTime %s, want the arrival %s", p.Status.StartTime, epoch)
	}
}

// What a direct-mode agent's API path must not do, and what a pod that never
// reached the API server must not leave behind.
func TestArrivalEdges(t *testing.T) {
	h, sink := startLinked(t, Config{Nodes: 1, HousekeepingInterval: time.Second})

	// A managed pod bound in the API server without coming over the link
	// is not started by the API-mode path; an unmanaged one is.
	stray := linkPod("stray", "kd-node-0", "other", "stray-uid")
	h.createPod(stray)
	h.createPod(boundPod("plain", "kd-node-0"))
	h.waitReady("default", "plain")
	for _, p := range h.agent.Pods() {
		if p.Name == "stray" {
			t.Fatalf("the API-mode path tracks the managed pod %+v", p)
		}
	}

	// A pod still being created is not housekeeping's to forget, however
	// long its create takes; its tombstone (PodGone by identity) drops it.
	sink.PodArriving(linkPod("slow", "kd-node-0", "link-slow", ""))
	h.agent.sweep(context.Background(), h.agent.sources[0].(*informerSource).informer.GetStore(), epoch.Add(time.Hour))
	if !tracks(h.agent, "slow") {
		t.Fatal("housekeeping forgot a pod whose create is in flight")
	}
	sink.PodGone(linkPod("slow", "kd-node-0", "another-incarnation", ""))
	if !tracks(h.agent, "slow") {
		t.Fatal("PodGone of another identity dropped the arriving pod")
	}
	sink.PodGone(linkPod("slow", "kd-node-0", "link-slow", ""))
	if tracks(h.agent, "slow") {
		t.Fatal("the arriving pod outlived its tombstone")
	}

	// A new incarnation of a name arriving replaces the old one's state.
	sink.PodArriving(linkPod("re", "kd-node-0", "link-a", ""))
	sink.PodArriving(linkPod("re", "kd-node-0", "link-b", ""))
	sink.PodBound(h.createPod(linkPod("re", "kd-node-0", "link-b", "re-uid")))
	h.waitReady("default", "re")
	if got := h.metric("kdbench_nodeagent_pods"); got != 2 {
		t.Errorf("pods gauge %g, want 2 (plain, re)", got)
	}
}

func tracks(a *Agent, name string) bool {
	for _, p := range a.Pods() {
		if p.Name == name {
			return true
		}
	}
	return false
}
