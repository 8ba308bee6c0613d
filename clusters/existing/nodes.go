package existing

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
)

// workers is what a cluster's Ready worker nodes say about the pods they
// run: real kubelets (real containers, no sandbox delay kdbench can set), or
// kdbench's node agents (labelled type=kdbench-sim, their sandbox delay
// annotated on every node).
type workers struct {
	Ready int
	// Agents counts the Ready workers served by kdbench's node agents; Real
	// names a Ready worker that is not (empty if none).
	Agents int
	Real   string
	// Delays maps each annotated delay to a node that carries it;
	// Unannotated names an agent node without the annotation.
	Delays      map[time.Duration]string
	Unannotated string
	// BadDelay is an annotation that does not parse, with its node.
	BadDelay string
}

// DirectNodeLabel marked the nodes of the direct-mode node agent kd ran
// beside the cluster's before the cluster's agents served direct mode; such
// nodes, left by an earlier kdbench's kd run, are not the cluster's workers.
const DirectNodeLabel = "kubedirect.io/direct"

// isControlPlane tells a control-plane node kept free of workloads
// (kubeadm's node-role.kubernetes.io/control-plane taint): no experiment pod
// lands there. An untainted one (a single-node cluster) is a worker too.
func isControlPlane(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if (t.Key == "node-role.kubernetes.io/control-plane" || t.Key == "node-role.kubernetes.io/master") &&
			(t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) {
			return true
		}
	}
	return false
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func readWorkers(nodes []corev1.Node) workers {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	w := workers{Delays: map[time.Duration]string{}}
	for i := range nodes {
		n := &nodes[i]
		if _, direct := n.Labels[DirectNodeLabel]; direct || !ready(n) || isControlPlane(n) {
			continue
		}
		w.Ready++
		if n.Labels[nodeagent.TypeLabel] != nodeagent.TypeLabelValue {
			if w.Real == "" {
				w.Real = n.Name
			}
			continue
		}
		w.Agents++
		v, ok := n.Annotations[nodeagent.SandboxDelayAnnotation]
		if !ok {
			if w.Unannotated == "" {
				w.Unannotated = n.Name
			}
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			if w.BadDelay == "" {
				w.BadDelay = fmt.Sprintf("node %s: %s=%q: %v", n.Name, nodeagent.SandboxDelayAnnotation, v, err)
			}
			continue
		}
		if _, seen := w.Delays[d]; !seen {
			w.Delays[d] = n.Name
		}
	}
	return w
}

// sandboxDelay is the delay the workers give every pod, or a refusal when
// they do not give one delay (mixed nodes, agents that disagree or do not
// say). Real kubelets give 0: no delay on top of real containers.
func (w workers) sandboxDelay(cluster string) (time.Duration, *clusters.Refusal) {
	refuse := func(format string, a ...any) (time.Duration, *clusters.Refusal) {
		return 0, &clusters.Refusal{Setting: clusters.SettingSandboxDelay, Why: fmt.Sprintf(format, a...)}
	}
	switch {
	case w.Agents == 0:
		return 0, nil
	case w.Real != "":
		return refuse("cluster %s mixes %d workers served by kdbench's node agents with %d that are not (e.g. node %s): its pods would get either lifecycle", cluster, w.Agents, w.Ready-w.Agents, w.Real)
	case w.BadDelay != "":
		return refuse("cluster %s: %s", cluster, w.BadDelay)
	case w.Unannotated != "":
		return refuse("node %s of cluster %s is served by a kdbench node agent that does not record its sandbox delay (annotation %s): restart the agents with this kdbench", w.Unannotated, cluster, nodeagent.SandboxDelayAnnotation)
	case len(w.Delays) > 1:
		var parts []string
		for d, n := range w.Delays {
			parts = append(parts, fmt.Sprintf("%s (node %s)", d, n))
		}
		sort.Strings(parts)
		return refuse("the node agents of cluster %s run with different sandbox delays: %v", cluster, parts)
	}
	for d := range w.Delays {
		return d, nil
	}
	return 0, nil
}

// refusals says what of spec the workers cannot give.
func (w workers) refusals(cluster string, spec clusters.Spec) clusters.Refusals {
	var out clusters.Refusals
	if spec.NodesExact && w.Ready != spec.Nodes {
		out = append(out, clusters.Refusal{Setting: clusters.SettingNodes, Why: fmt.Sprintf(
			"the existing provider cannot create nodes: cluster %s has %d Ready workers, the experiment asks for %d (run that size on a cluster of that many, or on the local provider)", cluster, w.Ready, spec.Nodes)})
	}
	d, r := w.sandboxDelay(cluster)
	switch {
	case r != nil:
		out = append(out, *r)
	case d == spec.SandboxDelay:
	case w.Agents == 0:
		out = append(out, clusters.Refusal{Setting: clusters.SettingSandboxDelay, Why: fmt.Sprintf(
			"%s asked for, but the %d Ready workers of cluster %s are not served by kdbench's node agents (none is labelled %s=%s): their kubelets start real containers and cannot hold pods for a set delay", spec.SandboxDelay, w.Ready, cluster, nodeagent.TypeLabel, nodeagent.TypeLabelValue)})
	default:
		out = append(out, clusters.Refusal{Setting: clusters.SettingSandboxDelay, Why: fmt.Sprintf(
			"%s asked for, but the node agents of cluster %s run with %s (annotation %s on node %s): restart them with --sandbox-delay=%s", spec.SandboxDelay, cluster, d, nodeagent.SandboxDelayAnnotation, w.Delays[d], spec.SandboxDelay)})
	}
	return out
}
