package failover

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/baselines"
)

// Target is a hop on the scale-out path, named by its role; each system maps
// it to its own process (kd: kd-replicaset; k8s: kube-controller-manager).
type Target string

// The hops, upstream first. APIServer is not a hop but the store every
// system relists from after a crash.
const (
	Autoscaler Target = "autoscaler"
	Deployment Target = "deployment"
	ReplicaSet Target = "replicaset"
	Scheduler  Target = "scheduler"
	NodeAgent  Target = "nodeagent"
	APIServer  Target = "apiserver"
)

// Kind is how a target fails.
type Kind string

const (
	// Crash is SIGKILL and a restart with empty state.
	Crash Kind = "crash"
	// Stall is SIGSTOP for the hold time, then SIGCONT.
	Stall Kind = "stall"
	// Cut resets the link into the target for the hold time (Kubedirect only).
	Cut Kind = "cut"
	// None injects nothing: the control, the same burst or scale change
	// timed from the same point, once per system, size, phase and rep
	// (its Target is empty). Recovery beyond it is the fault's cost.
	None Kind = "none"
)

// Phase is when the fault is injected.
type Phase string

const (
	// Burst injects once a third of a 0 → size burst's pods exist.
	Burst Phase = "burst"
	// Steady injects with size pods Ready, then asks for size/2: the
	// scale-down must still converge, with no deleted pod back.
	Steady Phase = "steady"
)

// Known values, in the order runs and tables use.
var (
	Targets = []Target{Autoscaler, Deployment, ReplicaSet, Scheduler, NodeAgent, APIServer}
	Kinds   = []Kind{Crash, Cut, Stall, None}
	Phases  = []Phase{Burst, Steady}
	// DefaultTargets are the hops of the paper's figure and the node agent.
	DefaultTargets = []Target{Autoscaler, Deployment, ReplicaSet, Scheduler, NodeAgent}
	DefaultKinds   = []Kind{Crash, Cut, None}
)

// Case is one fault injection: the unit of recovery.csv and of resume.
type Case struct {
	System string
	Size   int
	Phase  Phase
	Target Target
	Kind   Kind
	Rep    int
}

func (c Case) String() string {
	if c.Kind == None {
		return fmt.Sprintf("%s/%d/%s/no-fault/rep%d", c.System, c.Size, c.Phase, c.Rep)
	}
	return fmt.Sprintf("%s/%d/%s/%s-%s/rep%d", c.System, c.Size, c.Phase, c.Kind, c.Target, c.Rep)
}

// PodsFile names the case's <case>_pods.csv in the run directory, e.g.
// kd-plus_100_burst_crash-replicaset_rep0_pods.csv.
func (c Case) PodsFile() string {
	sys := baselines.Slug(c.System)
	return strings.ReplaceAll(sys+strings.TrimPrefix(c.String(), c.System), "/", "_") + "_pods.csv"
}

// Plan lists every case in run order: system, size, phase, target, kind,
// rep, so that one cluster serves one system's cases in a row. The None
// control comes first in each phase, once, with no target.
func Plan(systems []string, sizes []int, phases []Phase, targets []Target, kinds []Kind, reps int) []Case {
	var out []Case
	for _, sys := range systems {
		for _, size := range sizes {
			for _, ph := range phases {
				if slices.Contains(kinds, None) {
					for r := 0; r < reps; r++ {
						out = append(out, Case{System: sys, Size: size, Phase: ph, Kind: None, Rep: r})
					}
				}
				for _, t := range targets {
					for _, k := range kinds {
						if k == None {
							continue
						}
						for r := 0; r < reps; r++ {
							out = append(out, Case{System: sys, Size: size, Phase: ph, Target: t, Kind: k, Rep: r})
						}
					}
				}
			}
		}
	}
	return out
}

// ParseTargets, ParseKinds and ParsePhases read command-line lists.
func ParseTargets(s []string) ([]Target, error) { return parseList(s, Targets, "target") }
func ParseKinds(s []string) ([]Kind, error)     { return parseList(s, Kinds, "kind") }
func ParsePhases(s []string) ([]Phase, error)   { return parseList(s, Phases, "phase") }

func parseList[T ~string](in []string, known []T, what string) ([]T, error) {
	var out []T
	for _, s := range in {
		v := T(strings.TrimSpace(s))
		if !slices.Contains(known, v) {
			names := make([]string, len(known))
			for i, k := range known {
				names[i] = string(k)
			}
			return nil, fmt.Errorf("unknown %s %q (known: %s)", what, s, strings.Join(names, ", "))
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("%s %q given twice", what, s)
		}
		out = append(out, v)
	}
	return out, nil
}
