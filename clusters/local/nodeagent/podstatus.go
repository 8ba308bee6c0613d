package nodeagent

import (
	"fmt"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// runningStatus returns the status a kubelet would post once all of pod's containers
// run and pass readiness: kwok's pod-ready stage, with the kubelet's conditions.
// started is when the agent first saw the pod bound (the kubelet's startTime); now is
// when its sandbox and containers came up. Conditions the agent does not own (such as
// DisruptionTarget) are kept.
func runningStatus(pod *corev1.Pod, hostIP, podIP string, started, now time.Time) corev1.PodStatus {
	st := pod.Status.DeepCopy()
	mt := metav1.NewTime(now)
	startTime := metav1.NewTime(started)

	st.Phase = corev1.PodRunning
	st.HostIP = hostIP
	st.HostIPs = []corev1.HostIP{{IP: hostIP}}
	st.PodIP = podIP
	st.PodIPs = []corev1.PodIP{{IP: podIP}}
	st.StartTime = &startTime
	st.Reason, st.Message = "", ""

	owned := []corev1.PodConditionType{
		corev1.PodReadyToStartContainers,
		corev1.PodInitialized,
		corev1.PodReady,
		corev1.ContainersReady,
		corev1.PodScheduled,
	}
	for _, g := range pod.Spec.ReadinessGates {
		owned = append(owned, g.ConditionType)
	}
	conds := make([]corev1.PodCondition, 0, len(owned)+len(st.Conditions))
	for _, t := range owned {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: mt}
		if t == corev1.PodScheduled {
			c.LastTransitionTime = startTime
		}
		if old := findCondition(st.Conditions, t); old != nil && old.Status == corev1.ConditionTrue {
			c.LastTransitionTime = old.LastTransitionTime // no transition happened
		}
		conds = append(conds, c)
	}
	for _, c := range st.Conditions {
		if !containsType(owned, c.Type) {
			conds = append(conds, c)
		}
	}
	st.Conditions = conds

	st.InitContainerStatuses = make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for _, c := range pod.Spec.InitContainers {
		cs := containerStatus(pod, c, mt)
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			// A regular init container ran to completion; sidecars keep running.
			cs.Ready, cs.Started = true, ptrFalse()
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: mt, FinishedAt: mt, ContainerID: cs.ContainerID,
			}}
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	if len(st.InitContainerStatuses) == 0 {
		st.InitContainerStatuses = nil
	}
	st.ContainerStatuses = make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(pod, c, mt))
	}
	return *st
}

func containerStatus(pod *corev1.Pod, c corev1.Container, started metav1.Time) corev1.ContainerStatus {
	t := true
	return corev1.ContainerStatus{
		Name:        c.Name,
		Image:       c.Image,
		ImageID:     c.Image,
		ContainerID: containerID(pod, c.Name),
		Ready:       true,
		Started:     &t,
		State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
	}
}

// containerID is stable for a pod's container, unique across pods (the UID differs).
func containerID(pod *corev1.Pod, name string) string {
	h := fnv.New64a()
	h.Write([]byte(pod.UID))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return fmt.Sprintf("%s%016x", containerIDPrefix, h.Sum64())
}

const containerIDPrefix = "kdbench://"

func ptrFalse() *bool { f := false; return &f }

func findCondition(cs []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

func containsType(ts []corev1.PodConditionType, t corev1.PodConditionType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// isRunningAndReady reports whether pod already has a Running, Ready status with an IP:
// a pod the agent (or a previous run of it) already started.
func isRunningAndReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
		return false
	}
	c := findCondition(pod.Status.Conditions, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
