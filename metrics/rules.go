package metrics

import (
	"fmt"
	"strings"
)

// Rules is a named rule set: which invocations count and how a function's
// invocations are averaged. What differs by system and file format (the
// artifact's asymmetries) is decided in accumulate.go from these fields.
type Rules struct {
	// Name is how the rule set is selected (--rules) and recorded.
	Name string
	// Source says where the rules were read.
	Source string
	// GeoMeanSlowdown averages a function's slowdowns geometrically
	// (Dirigent's script) instead of arithmetically (the artifact's).
	GeoMeanSlowdown bool
	// DropTimeoutsFromSlowdown drops CSV rows with connectionTimeout or
	// functionTimeout from the slowdown (scheduling latency keeps them
	// under both rule sets).
	DropTimeoutsFromSlowdown bool
	// DropSingletons excludes functions left with one invocation.
	DropSingletons bool
	// WarmupForLatency drops warm-up invocations from scheduling latency
	// too (slowdown always drops them).
	WarmupForLatency bool
	// SystemFilters applies the artifact's per-system filters: Dirigent's
	// scheduling latency from a CSV keeps values < 1500 ms; Kn/Kd's log
	// rows with Delay > 8000 ms are dropped from both metrics.
	SystemFilters bool
}

// Artifact is the Kubedirect artifact's experiments/trace/plot.py, the
// default for figures, claims and replay summaries.
var Artifact = Rules{
	Name:                     "artifact",
	Source:                   "TomQuartz/kubedirect-ae experiments/trace/plot.py",
	DropTimeoutsFromSlowdown: true,
	DropSingletons:           true,
	WarmupForLatency:         true,
	SystemFilters:            true,
}

// Dirigent is Dirigent's artifact_evaluation/plot_azure_500.py: geometric
// mean slowdown with no timeout or single-invocation filter, and a
// per-function scheduling latency over every row, warm-up included.
var Dirigent = Rules{
	Name:            "dirigent",
	Source:          "eth-easl/dirigent artifact_evaluation/plot_azure_500.py",
	GeoMeanSlowdown: true,
}

// RuleSets lists the rule sets by name, the default first.
var RuleSets = []Rules{Artifact, Dirigent}

// RulesNames is the --rules flag's help: the names, the default first.
func RulesNames() string {
	names := make([]string, len(RuleSets))
	for i, r := range RuleSets {
		names[i] = r.Name
	}
	return strings.Join(names, "|")
}

// ByName returns the named rule set; "" is the default (artifact).
func ByName(name string) (Rules, error) {
	if name == "" {
		return Artifact, nil
	}
	for _, r := range RuleSets {
		if r.Name == name {
			return r, nil
		}
	}
	return Rules{}, fmt.Errorf("unknown metric rules %q (want %s)", name, RulesNames())
}

// SlowdownMean names how a function's slowdowns are averaged.
func (r Rules) SlowdownMean() string {
	if r.GeoMeanSlowdown {
		return "geometric mean"
	}
	return "arithmetic mean"
}

// String is the rule set as reports record it.
func (r Rules) String() string { return fmt.Sprintf("%s (%s)", r.Name, r.Source) }
