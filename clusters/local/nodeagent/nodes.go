package nodeagent

import (
	"net/netip"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kdbench/kdbench/kubedirect/egress"
)

const (
	// KubeletVersion is what the simulated nodes report: the version of the control
	// plane kdbench builds.
	KubeletVersion   = "v1.32.13"
	runtimeVersion   = "kdbench://sim"
	kubeletPort      = 10250
	ephemeralStorage = "100Gi"
)

// simNode is one simulated node. Its fields are fixed after New except where noted.
type simNode struct {
	index  int
	name   string
	hostIP netip.Addr

	// podCIDR and ips may be replaced during registration when the node already
	// exists with another podCIDR (spec.podCIDR is immutable once set); registration
	// finishes before any pod is handled.
	podCIDR netip.Prefix
	ips     *ipAllocator

	uid types.UID // set at registration, for the Lease's owner reference

	// lease is the last Lease the API server returned; only the heartbeat worker
	// handling this node's lease touches it (the queue never hands one key to two
	// workers at once), after registration has set it.
	lease *coordinationv1.Lease

	// gone is set when the Node object is deleted by someone else: the agent stops
	// renewing it and ignores its pods.
	gone atomic.Bool
}

// buildNode returns the Node object the agent registers for n: kwok's node-initialize
// stage, with the kubelet's condition reasons and the configured shape.
func buildNode(cfg *Config, n *simNode, now time.Time) *corev1.Node {
	labels := map[string]string{}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	labels[corev1.LabelHostname] = n.name
	labels[corev1.LabelOSStable] = "linux"
	labels[corev1.LabelArchStable] = "amd64"
	labels[TypeLabel] = TypeLabelValue

	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              cfg.CPU.DeepCopy(),
		corev1.ResourceMemory:           cfg.Memory.DeepCopy(),
		corev1.ResourcePods:             *resource.NewQuantity(int64(cfg.MaxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: resource.MustParse(ephemeralStorage),
	}
	cidr := n.podCIDR.String()
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.name,
			Labels:      labels,
			Annotations: nodeAnnotations(cfg),
		},
		Spec: corev1.NodeSpec{
			PodCIDR:  cidr,
			PodCIDRs: []string{cidr},
			Taints:   append([]corev1.Taint(nil), cfg.Taints...),
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			Phase:       corev1.NodeRunning,
			Conditions:  nodeConditions(metav1.NewTime(now), metav1.NewTime(now)),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.hostIP.String()},
				{Type: corev1.NodeHostName, Address: n.name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{
				KubeletEndpoint: corev1.DaemonEndpoint{Port: kubeletPort},
			},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               n.name,
				SystemUUID:              n.name,
				BootID:                  n.name,
				KernelVersion:           "kdbench-sim",
				OSImage:                 "kdbench simulated node",
				ContainerRuntimeVersion: runtimeVersion,
				KubeletVersion:          KubeletVersion,
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// nodeConditions are a healthy kubelet's conditions.
func nodeConditions(heartbeat, transition metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg,
			LastHeartbeatTime: heartbeat, LastTransitionTime: transition}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
}

// buildLease returns n's Lease in kube-node-lease, owned by its Node so that deleting
// the Node garbage-collects it (as the kubelet does).
func buildLease(cfg *Config, n *simNode, now time.Time) *coordinationv1.Lease {
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: corev1.NamespaceNodeLease},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(n.name),
			LeaseDurationSeconds: ptr.To(int32(cfg.LeaseDuration / time.Second)),
			RenewTime:            &metav1.MicroTime{Time: now},
		},
	}
	if n.uid != "" {
		l.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1",
			Kind:       "Node",
			Name:       n.name,
			UID:        n.uid,
		}}
	}
	return l
}

// nodeAnnotations are the annotations the agent sets on its nodes.
func nodeAnnotations(cfg *Config) map[string]string {
	// The kubelet sets the TTL annotation so the TTL controller may tune
	// secret/configmap caching; simulated nodes run no volumes.
	a := map[string]string{"node.alpha.kubernetes.io/ttl": "0", SandboxDelayAnnotation: cfg.SandboxDelay.String()}
	if cfg.DirectAddress != "" {
		a[egress.AgentAnnotation] = cfg.DirectAddress
	}
	return a
}
