package burst

import (
	"fmt"
	"k8s.io/apimachinery/pkg/api/resource"
	"sort"
	"strings"
)

// Shape is one burst experiment as data: what a size means and what one
// burst of that size asks of the cluster.
type Shape struct {
	Name         string
	SizeUnit     string
	DefaultSizes []int
	// Plan returns one burst of the given size.
	Plan func(size int) Plan
}

// Plan is one burst: Functions Deployments, each scaled 0 → Replicas, on a
// cluster of Nodes nodes (0 keeps the user's --nodes).
type Plan struct {
	Functions int
	Replicas  int32
	Nodes     int
}

// Pods is the number of pods the burst must bring to Ready.
func (p Plan) Pods() int { return p.Functions * int(p.Replicas) }

// PodsPerNode is scale-nodes' density (the paper: 5 pods per fake node).
const PodsPerNode = 5

// Shapes are the paper's microbenchmarks (Figs 9–11).
var Shapes = map[string]Shape{
	"scale-pods": {
		Name: "scale-pods", SizeUnit: "pods", DefaultSizes: []int{100, 200, 300, 600},
		Plan: func(n int) Plan { return Plan{Functions: 1, Replicas: int32(n)} },
	},
	"scale-funcs": {
		Name: "scale-funcs", SizeUnit: "functions", DefaultSizes: []int{100, 200, 300, 600},
		Plan: func(n int) Plan { return Plan{Functions: n, Replicas: 1} },
	},
	"scale-nodes": {
		Name: "scale-nodes", SizeUnit: "nodes", DefaultSizes: []int{500, 1000, 1500, 2000},
		Plan: func(n int) Plan { return Plan{Functions: 1, Replicas: int32(PodsPerNode * n), Nodes: n} },
	},
}

// LookupShape returns the named experiment or an error listing the known ones.
func LookupShape(name string) (Shape, error) {
	s, ok := Shapes[name]
	if !ok {
		var names []string
		for n := range Shapes {
			names = append(names, n)
		}
		sort.Strings(names)
		return Shape{}, fmt.Errorf("unknown experiment %q (known: %s)", name, strings.Join(names, ", "))
	}
	return s, nil
}

// functionNames names a burst's Deployments.
func functionNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("fn-%d", i)
	}
	return out
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
