package ae

import "slices"

// ExperimentKind is what ae knows about an experiment of the papers,
// whether or not this build can run it.
type ExperimentKind struct {
	Name   string
	Figure string
	// SizeUnit says what a size counts.
	SizeUnit string
	// PodsPerSize is the number of pods one unit of size brings up
	// (scale-nodes: burst.PodsPerNode per node), for the cost model.
	PodsPerSize int
	// ClusterPerSize says each size needs a cluster of its own (scale-nodes
	// sizes are node counts).
	ClusterPerSize bool
	// Floor says its runs also measure the floor (workloads/floor) at every
	// size: a burst experiment.
	Floor bool
}

// Kinds are the experiments of the Kubedirect paper, in the paper's order.
// A profile may name any of them; a build without its runner reports its
// steps as not run.
var Kinds = []ExperimentKind{
	{Name: "scale-pods", Figure: "Fig 9", SizeUnit: "pods", PodsPerSize: 1, Floor: true},
	{Name: "scale-funcs", Figure: "Fig 10", SizeUnit: "functions", PodsPerSize: 1, Floor: true},
	{Name: "scale-nodes", Figure: "Fig 11", SizeUnit: "nodes", PodsPerSize: 5, ClusterPerSize: true, Floor: true},
	{Name: "azure-trace", Figure: "Figs 12–13", SizeUnit: "functions"},
	{Name: "failover", Figure: "failure recovery", SizeUnit: "pods", PodsPerSize: 1},
}

// KindOf returns the named experiment.
func KindOf(name string) (ExperimentKind, bool) {
	i := slices.IndexFunc(Kinds, func(k ExperimentKind) bool { return k.Name == name })
	if i < 0 {
		return ExperimentKind{}, false
	}
	return Kinds[i], true
}

// Systems are the systems of the papers: the bursts' k8s, k8s+, kd, kd+;
// Knative on each (Fig 12: real Knative as kn-k8s, kn-kd, and kdbench's
// model of its front-end as kn-model, kn-model-kd); Dirigent and the
// Dirigent-style front-end on k8s+ and kd+ (Fig 13).
var Systems = []string{"k8s", "k8s+", "kd", "kd+", "kn-k8s", "kn-kd", "kn-model", "kn-model-kd", "dirigent", "dr-k8s+", "dr-kd+"}

func kindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.Name
	}
	return out
}
