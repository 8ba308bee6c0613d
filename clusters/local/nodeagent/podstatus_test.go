package nodeagent

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRunningStatusGolden(t *testing.T) {
	bound := epoch
	ready := epoch.Add(200 * time.Millisecond)
	disruption := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse,
		LastTransitionTime: metav1.NewTime(epoch.Add(-time.Minute))}
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"pod-running.golden.yaml", boundPod("web-0", "kd-node-3")},
		{"pod-running-init-gates.golden.yaml", func() *corev1.Pod {
			p := boundPod("web-1", "kd-node-3")
			p.Spec.InitContainers = []corev1.Container{
				{Name: "setup", Image: "busybox"},
				{Name: "proxy", Image: "envoy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
			}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "queue-proxy", Image: "qp:1.15"})
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
			p.Status.Conditions = append(p.Status.Conditions, disruption)
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pod.UID = types.UID("uid-" + tt.pod.Name) // stable container IDs
			st := runningStatus(tt.pod, "172.16.0.4", "10.128.3.2", bound, ready)
			out, err := yaml.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, out)

			// The input pod is not modified.
			if tt.pod.Status.Phase != corev1.PodPending {
				t.Error("runningStatus modified its input")
			}
			// Every container is ready; the pod is Running and Ready.
			p := tt.pod.DeepCopy()
			p.Status = st
			if !isRunningAndReady(p) {
				t.Error("status is not Running and Ready")
			}
		})
	}
}

func TestRunningStatusKeepsTransitionTimes(t *testing.T) {
	p := boundPod("web-0", "kd-node-0")
	first := runningStatus(p, "172.16.0.1", "10.128.0.2", epoch, epoch.Add(time.Second))
	p.Status = first
	again := runningStatus(p, "172.16.0.1", "10.128.0.2", epoch, epoch.Add(time.Hour))
	for _, c := range again.Conditions {
		if old := findCondition(first.Conditions, c.Type); old == nil || !old.LastTransitionTime.Equal(&c.LastTransitionTime) {
			t.Errorf("condition %s moved its lastTransitionTime on a no-op update", c.Type)
		}
	}
}

func TestContainerIDUnique(t *testing.T) {
	a, b := boundPod("a", "n"), boundPod("b", "n")
	if containerID(a, "c") == containerID(b, "c") || containerID(a, "c") == containerID(a, "d") {
		t.Error("container IDs collide")
	}
	if containerID(a, "c") != containerID(a, "c") {
		t.Error("container ID is not stable")
	}
}
