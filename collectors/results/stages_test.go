package results

import (
	"testing"
)

// A scripted table of pod timestamps (ms after an arbitrary origin) and the
// stage durations they must give.
func TestStageDerivation(t *testing.T) {
	at := func(v int64) int64 {
		if v < 0 {
			return 0 // not observed
		}
		return t0 + v*ms
	}
	type times struct{ start, rs, created, scheduled, bound, running, ready int64 }
	tests := []struct {
		name string
		ts   times
		want map[string]int64 // stage → ms; absent = not derivable
	}{
		{
			name: "every milestone observed",
			ts:   times{0, 10, 30, 70, 75, 275, 280},
			want: map[string]int64{
				"e2e": 280, "deployment_ctrl": 10, "replicaset_ctrl": 20, "scheduler": 45, "kubelet": 205,
				"create_to_schedule": 40, "running_to_ready": 5, "schedule_to_watch": 205, "pod_startup": 245,
			},
		},
		{
			name: "binding not seen on its own: scheduled stands in",
			ts:   times{0, 10, 30, 70, -1, 275, 280},
			want: map[string]int64{
				"e2e": 280, "deployment_ctrl": 10, "replicaset_ctrl": 20, "scheduler": 40, "kubelet": 210,
				"create_to_schedule": 40, "running_to_ready": 5, "schedule_to_watch": 205, "pod_startup": 245,
			},
		},
		{
			name: "condition not seen: bound stands in",
			ts:   times{0, 10, 30, -1, 75, 275, 280},
			want: map[string]int64{
				"e2e": 280, "deployment_ctrl": 10, "replicaset_ctrl": 20, "scheduler": 45, "kubelet": 205,
				"create_to_schedule": 45, "running_to_ready": 5, "schedule_to_watch": 200, "pod_startup": 245,
			},
		},
		{
			name: "never ready: only the early stages",
			ts:   times{0, 10, 30, 70, 75, -1, -1},
			want: map[string]int64{"deployment_ctrl": 10, "replicaset_ctrl": 20, "scheduler": 45, "create_to_schedule": 40},
		},
		{
			name: "ReplicaSet update missed",
			ts:   times{0, -1, 30, 70, 75, 275, 280},
			want: map[string]int64{
				"e2e": 280, "scheduler": 45, "kubelet": 205,
				"create_to_schedule": 40, "running_to_ready": 5, "schedule_to_watch": 205, "pod_startup": 245,
			},
		},
		{
			name: "informers out of order: negative stage is kept",
			ts:   times{0, 35, 30, 70, 75, 275, 280},
			want: map[string]int64{
				"e2e": 280, "deployment_ctrl": 35, "replicaset_ctrl": -5, "scheduler": 45, "kubelet": 205,
				"create_to_schedule": 40, "running_to_ready": 5, "schedule_to_watch": 205, "pod_startup": 245,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PodRecord{
				BurstStart: at(tt.ts.start), RSScaled: at(tt.ts.rs), Created: at(tt.ts.created),
				Scheduled: at(tt.ts.scheduled), Bound: at(tt.ts.bound), Running: at(tt.ts.running), Ready: at(tt.ts.ready),
			}
			for _, st := range Stages {
				got, ok := st.Duration(p)
				want, wantOK := tt.want[st.Name]
				if ok != wantOK || got != want*ms {
					t.Errorf("%s = %v ms (observed %v), want %v ms (observed %v)", st.Name, float64(got)/float64(ms), ok, want, wantOK)
				}
			}
		})
	}
}

func TestKubedirectStagesAddUpToE2E(t *testing.T) {
	for _, p := range synthPods(50, 1.3) {
		var sum int64
		for _, name := range BreakdownStages {
			st, ok := StageByName(name)
			if !ok {
				t.Fatalf("no stage %s", name)
			}
			d, _ := st.Duration(p)
			sum += d
		}
		e2e, _ := Stages[0].Duration(p)
		if sum != e2e {
			t.Errorf("pod %s: stages sum to %d, e2e is %d", p.Pod, sum, e2e)
		}
	}
}
