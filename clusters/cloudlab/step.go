package cloudlab

import (
	"slices"
	"time"
)

// Phase orders steps across nodes: every node finishes a phase before any
// node starts the next, because joins need the control plane and add-ons
// need the nodes.
type Phase int

const (
	PhasePrepare Phase = iota
	PhaseControlPlane
	PhaseJoin
	PhaseAddons
)

var phaseNames = [...]string{"prepare", "control-plane", "join", "addons"}

func (p Phase) String() string { return phaseNames[p] }

// Phases lists the phases in the order they run.
func Phases() []Phase { return []Phase{PhasePrepare, PhaseControlPlane, PhaseJoin, PhaseAddons} }

// Step is one named, idempotent piece of the bootstrap. It runs on every node
// of its roles as `bash` under sudo with the node's variables exported.
type Step struct {
	Name  string
	Phase Phase
	Roles []Role
	// Node, if set, limits the step to that node (a per-node command line,
	// such as each worker's node agent with its share of the nodes).
	Node string
	// Check exits 0 when the step is already done. A step without Check is a
	// read-only query that always runs (Export or Fetch says where its output
	// goes).
	Check string
	// Apply does the step; it runs only when Check fails, and Check must pass
	// afterwards.
	Apply string
	// Upload, if set, is streamed to Apply's stdin (Apply writes it out).
	Upload *Upload
	// Export names a variable that later steps on every node see, set to the
	// query's trimmed stdout (e.g. the cluster CA's hash, for joins).
	Export string
	// Fetch names a file in the cluster work dir that receives the query's
	// stdout, mode 0600, never logged (e.g. the admin kubeconfig).
	Fetch string
	// Secrets names the secret variables the step needs; only those are sent.
	Secrets []string
	Timeout time.Duration
	// Retries is how many more times a failed apply is tried, with backoff.
	Retries int
}

// Upload is a local file copied to the nodes.
type Upload struct {
	Local  string
	SHA256 string
}

// Query reports whether the step only reads.
func (s Step) Query() bool { return s.Check == "" }

// RunsOn reports whether the step applies to a node of role r.
func (s Step) RunsOn(r Role) bool { return slices.Contains(s.Roles, r) }

var (
	allRoles = []Role{RoleControlPlane, RoleWorker}
	cpOnly   = []Role{RoleControlPlane}
	workers  = []Role{RoleWorker}
)
