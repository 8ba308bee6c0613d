package dirigent

import (
	"fmt"
	"regexp"
	"time"
)

// HTTP paths of the components' APIs.
const (
	pathFunctions  = "/functions"         // control plane: POST register, DELETE /functions/{name}
	pathScale      = "/scale"             // control plane: POST desired sandboxes of one function
	pathWorkers    = "/workers"           // control plane: POST register a worker
	pathHeartbeat  = "/heartbeat"         // control plane: POST a worker's heartbeat
	pathDataPlanes = "/dataplanes"        // control plane: POST register a data plane
	pathMetrics    = "/metrics/autoscale" // control plane: POST a data plane's concurrency samples
	pathColdStart  = "/coldstart"         // control plane: POST a request queued at zero sandboxes
	pathCrashed    = "/crashed"           // control plane: POST a worker's sandbox that exited
	pathEndpoints  = "/endpoints"         // data plane: POST a function's Ready sandboxes
	pathInvoke     = "/invoke/"           // data plane: POST /invoke/{function}; worker: POST /invoke/{sandbox}
	pathSandboxes  = "/sandboxes"         // worker: POST create, DELETE /sandboxes/{id}
)

// Function is what a registration carries: the recipe for a function's
// sandboxes and its scheduling configuration.
type Function struct {
	Name string `json:"name"`
	// Image names the sandbox image; the local runtime records it only.
	Image string `json:"image,omitempty"`
	// CPUMilli and MemoryMiB are a sandbox's requests, used by placement.
	CPUMilli  int64 `json:"cpuMilli"`
	MemoryMiB int64 `json:"memoryMiB"`
	// Autoscale lets the autoscaler size the function; without it the
	// function keeps the sandbox count last set with Scale.
	Autoscale bool `json:"autoscale"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate rejects what the control plane would not accept.
func (f Function) Validate() error {
	switch {
	case !nameRE.MatchString(f.Name):
		return fmt.Errorf("function name %q: want a DNS label (lower-case alphanumerics and '-', at most 63)", f.Name)
	case f.CPUMilli < 0 || f.MemoryMiB < 0:
		return fmt.Errorf("function %s: negative requests (cpu %dm, memory %d MiB)", f.Name, f.CPUMilli, f.MemoryMiB)
	}
	return nil
}

// SandboxRef is how a data plane reaches one Ready sandbox.
type SandboxRef struct {
	ID     string `json:"id"`
	Worker string `json:"worker"`
	// URL is where the data plane POSTs the sandbox's calls: the sandbox's
	// own server when its Runtime has one, else the worker daemon.
	URL string `json:"url"`
}

type scaleRequest struct {
	Function  string `json:"function"`
	Sandboxes int    `json:"sandboxes"`
}

type workerInfo struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	CPUMilli  int64  `json:"cpuMilli"`
	MemoryMiB int64  `json:"memoryMiB"`
}

type heartbeat struct {
	Worker string `json:"worker"`
	// Sandboxes counts what the worker runs (informational: the control
	// plane's own bookkeeping decides placement).
	Sandboxes int `json:"sandboxes"`
}

type sandboxCrash struct {
	Worker   string `json:"worker"`
	Function string `json:"function"`
	Sandbox  string `json:"sandbox"`
}

type dataPlaneInfo struct {
	URL string `json:"url"`
}

// metricsReport carries one period's time-averaged in-flight + queued
// requests per function.
type metricsReport struct {
	DataPlane   string             `json:"dataPlane"`
	Concurrency map[string]float64 `json:"concurrency"`
}

type coldStart struct {
	Function string `json:"function"`
}

type endpointsUpdate struct {
	Function string `json:"function"`
	// Version orders updates; a data plane ignores older ones.
	Version   uint64       `json:"version"`
	Sandboxes []SandboxRef `json:"sandboxes"`
	// Deleted says the function was deregistered.
	Deleted bool `json:"deleted,omitempty"`
}

type createSandbox struct {
	ID       string   `json:"id"`
	Function Function `json:"function"`
}

type sandboxCreated struct {
	// URL is the sandbox's invocation URL.
	URL string `json:"url"`
}

// Call is one invocation as the data plane and worker pass it on.
type Call struct {
	ID        string `json:"id"`
	RuntimeUs int64  `json:"runtimeUs"`
	MemoryMiB int64  `json:"memoryMiB"`
}

// Reply is what an invocation measured along the way.
type Reply struct {
	// Sandbox ran the invocation.
	Sandbox string `json:"sandbox"`
	// DurationUs is the execution time inside the sandbox.
	DurationUs int64 `json:"durationUs"`
	MemoryMiB  int64 `json:"memoryMiB"`
	// QueueUs is the time the invocation waited in the data plane for a
	// sandbox (the cold-start wait).
	QueueUs int64 `json:"queueUs"`
	// ColdStart says the invocation found no free sandbox on arrival.
	ColdStart bool `json:"coldStart"`
}

// Runtime returns the call's requested duration.
func (c Call) Runtime() time.Duration { return time.Duration(c.RuntimeUs) * time.Microsecond }
