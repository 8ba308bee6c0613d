package scheduler

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/kdbench/kdbench/kubedirect/controllers/adapter"
	"github.com/kdbench/kdbench/kubedirect/egress"
)

// AgentFilterName is the Filter plugin keeping managed pods off nodes that
// no node agent serves in direct mode.
const AgentFilterName = "KubedirectAgent"

type agentFilter struct{}

func (agentFilter) Name() string { return AgentFilterName }

func (agentFilter) Filter(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	if n := ni.Node(); n == nil || adapter.NodeAgentOf(n) == "" {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node has no Kubedirect node agent ("+egress.AgentAnnotation+")")
	}
	return nil
}

func newAgentFilter(context.Context, runtime.Object, framework.Handle) (framework.Plugin, error) {
	return agentFilter{}, nil
}
