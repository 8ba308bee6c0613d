package results

import (
	"fmt"
	"time"
)

// SchemaVersion is the version of the directory layout and file formats
// this package writes and reads. Bump it on any incompatible change; Open
// refuses other versions rather than misreading them.
const SchemaVersion = 1

// Manifest describes a run: enough to reproduce it and to judge it.
type Manifest struct {
	SchemaVersion int   `json:"schemaVersion"`
	Kdbench       Build `json:"kdbench"`
	// Experiment is the workload's name (scale-pods, scale-funcs, …).
	Experiment string `json:"experiment"`
	// SizeUnit says what a size counts: "pods", "functions" or "nodes".
	SizeUnit    string   `json:"sizeUnit,omitempty"`
	Systems     []string `json:"systems"`
	Sizes       []int    `json:"sizes"`
	QPSProfiles []string `json:"qpsProfiles,omitempty"`
	// Reps is the number of measured repetitions per configuration and
	// WarmupReps the number run before them and excluded from statistics.
	Reps       int   `json:"reps"`
	WarmupReps int   `json:"warmupReps"`
	Seed       int64 `json:"seed"`
	// Params holds experiment-specific settings (pods per node, …).
	Params   map[string]string `json:"params,omitempty"`
	Clusters []ClusterFacts    `json:"clusters,omitempty"`
	Machine  MachineFacts      `json:"machine"`

	Start  time.Time  `json:"start"`
	End    *time.Time `json:"end,omitempty"`
	Status RunStatus  `json:"status"`
	// Error is why the run as a whole failed, if it did.
	Error string `json:"error,omitempty"`
	// Reps' outcomes, in the order they were marked.
	RepStatuses []RepStatus `json:"repStatuses"`
}

// Build identifies the kdbench binary that produced a run.
type Build struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
}

// ClusterFacts describes one cluster a run measured (a run that covers two
// QPS profiles may bring up two).
type ClusterFacts struct {
	Provider   string `json:"provider"`
	Name       string `json:"name,omitempty"`
	Nodes      int    `json:"nodes"`
	QPSProfile string `json:"qpsProfile,omitempty"`
	// QPSProfileSource says how the profile is known: set by the provider,
	// read from the control plane's flags, or given by the user.
	QPSProfileSource string `json:"qpsProfileSource,omitempty"`
	// SandboxDelay is the simulated kubelet's bound → ready delay.
	SandboxDelay string `json:"sandboxDelay,omitempty"`
	// Components maps a component to its version, Flags to its flags.
	Components map[string]string   `json:"components,omitempty"`
	Flags      map[string][]string `json:"flags,omitempty"`
}

// MachineFacts describes the machine the harness ran on.
type MachineFacts struct {
	Hostname    string `json:"hostname"`
	CPUs        int    `json:"cpus"`
	MemoryBytes uint64 `json:"memoryBytes"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel,omitempty"`
	Arch        string `json:"arch"`
	GoVersion   string `json:"goVersion"`
}

// RunStatus is the state of a whole run.
type RunStatus string

const (
	// RunRunning is what a crashed run still says: it never finished.
	RunRunning  RunStatus = "running"
	RunComplete RunStatus = "complete"
	RunFailed   RunStatus = "failed"
)

// RepState is the outcome of one repetition.
type RepState string

const (
	RepOK     RepState = "ok"
	RepFailed RepState = "failed"
	// RepIncomplete is never written: readers report it for a repetition
	// that has pods but was never marked (the run crashed during it).
	RepIncomplete RepState = "incomplete"
)

// RepID names one repetition of one configuration. Rep counts from 0 within
// (System, QPSProfile, Size); the warm-up repetitions come first and carry
// Warmup, so the measured ones are Rep ≥ WarmupReps.
type RepID struct {
	System     string `json:"system"`
	QPSProfile string `json:"qpsProfile,omitempty"`
	Size       int    `json:"size"`
	Rep        int    `json:"rep"`
	Warmup     bool   `json:"warmup,omitempty"`
}

func (id RepID) String() string {
	s := fmt.Sprintf("%s size %d rep %d", id.System, id.Size, id.Rep)
	if id.QPSProfile != "" {
		s = fmt.Sprintf("%s (%s) size %d rep %d", id.System, id.QPSProfile, id.Size, id.Rep)
	}
	if id.Warmup {
		s += " (warm-up)"
	}
	return s
}

// key identifies a repetition regardless of its Warmup flag.
type key struct {
	system, profile string
	size, rep       int
}

func (id RepID) key() key { return key{id.System, id.QPSProfile, id.Size, id.Rep} }

// RepStatus is one repetition's outcome.
type RepStatus struct {
	RepID
	State  RepState  `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Marked time.Time `json:"marked"`
}
