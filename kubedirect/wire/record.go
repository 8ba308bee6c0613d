// Package wire defines what travels on a Kubedirect link: small records (pod
// descriptors and scale intents, never full specs), operations on them, and
// frames that carry a link epoch and send timestamps. The codec is a compact
// hand-written binary format so that no protoc is needed.
package wire

import "fmt"

// Kind is the type of object a record describes.
type Kind uint8

const (
	KindDeployment Kind = 1 // scale intent for a Deployment
	KindReplicaSet Kind = 2 // scale intent for a ReplicaSet
	KindPod        Kind = 3 // pod descriptor
)

func (k Kind) String() string {
	switch k {
	case KindDeployment:
		return "Deployment"
	case KindReplicaSet:
		return "ReplicaSet"
	case KindPod:
		return "Pod"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k >= KindDeployment && k <= KindPod }

// Phase is a pod's lifecycle position. Phases only move forward: merging two
// views of a pod keeps the larger phase, so a late or replayed message can never
// move a pod back (in particular, never out of a tombstone).
type Phase uint8

const (
	PhaseNone        Phase = 0 // scale records
	PhasePending     Phase = 1 // created, not yet bound
	PhaseBound       Phase = 2 // bound to a node
	PhaseRunning     Phase = 3 // sandbox running on its node
	PhaseTerminating Phase = 4 // tombstone: termination intent, being replicated to the tail
	PhaseTerminated  Phase = 5 // tombstone confirmed by the tail; awaiting release (GC)
)

var phaseNames = [...]string{"None", "Pending", "Bound", "Running", "Terminating", "Terminated"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}

// Valid reports whether p is a known phase.
func (p Phase) Valid() bool { return p <= PhaseTerminated }

// Tombstoned reports whether the phase carries termination intent.
func (p Phase) Tombstoned() bool { return p >= PhaseTerminating }

// Key identifies a record within a hop.
type Key struct {
	Kind      Kind
	Namespace string
	Name      string
}

func (k Key) String() string { return k.Kind.String() + ":" + k.Namespace + "/" + k.Name }

// Record is the unit of state on a link. Scale records (Deployment,
// ReplicaSet) use Replicas and Generation; pod records use the rest.
type Record struct {
	Kind      Kind
	Phase     Phase
	Namespace string
	Name      string
	UID       string
	Owner     string // owning ReplicaSet (pods) or owning Deployment (ReplicaSets), same namespace
	Node      string // bound node; set once
	Template  string // template reference/hash; full specs come from the template object
	Replicas  int32  // desired replicas (scale records)
	// Generation orders scale intents: the larger wins. Writers stamp it from a
	// hybrid logical clock so that a restarted writer still wins.
	Generation uint64
	CreatedNs  int64 // creation time, ns since the Unix epoch
}

// Key returns the record's key.
func (r *Record) Key() Key { return Key{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name} }

// Validate reports the first problem that makes r unusable.
func (r *Record) Validate() error {
	if !r.Kind.Valid() {
		return fmt.Errorf("record %s/%s: unknown kind %d", r.Namespace, r.Name, r.Kind)
	}
	if !r.Phase.Valid() {
		return fmt.Errorf("record %s: unknown phase %d", r.Key(), r.Phase)
	}
	if r.Name == "" {
		return fmt.Errorf("record %s: empty name", r.Key())
	}
	if r.Kind == KindPod && r.Phase == PhaseNone {
		return fmt.Errorf("record %s: pod without phase", r.Key())
	}
	if r.Kind != KindPod && r.Phase != PhaseNone {
		return fmt.Errorf("record %s: scale record with phase %s", r.Key(), r.Phase)
	}
	if r.Replicas < 0 {
		return fmt.Errorf("record %s: negative replicas %d", r.Key(), r.Replicas)
	}
	return nil
}

// Merge joins an incoming view of the same object into r and reports whether r
// changed. The join is commutative, associative and idempotent (a
// semilattice), which is what makes replays, duplicates and resyncs harmless:
//   - scale records: the larger Generation wins wholesale;
//   - pods: the larger Phase wins; Node, UID, Owner, Template and CreatedNs are
//     set once (the first non-empty value is kept, ties broken by the smaller
//     value so that every hop converges to the same record).
func (r *Record) Merge(in *Record) bool {
	if r.Kind != KindPod {
		if in.Generation > r.Generation || (in.Generation == r.Generation && lessScale(r, in)) {
			*r = *in
			return true
		}
		return false
	}
	changed := false
	if in.Phase > r.Phase {
		r.Phase, changed = in.Phase, true
	}
	changed = setOnce(&r.Node, in.Node) || changed
	changed = setOnce(&r.UID, in.UID) || changed
	changed = setOnce(&r.Owner, in.Owner) || changed
	changed = setOnce(&r.Template, in.Template) || changed
	if in.CreatedNs != 0 && (r.CreatedNs == 0 || in.CreatedNs < r.CreatedNs) {
		r.CreatedNs, changed = in.CreatedNs, true
	}
	return changed
}

// lessScale breaks generation ties deterministically so merge stays commutative.
func lessScale(a, b *Record) bool {
	if a.Replicas != b.Replicas {
		return a.Replicas < b.Replicas
	}
	return a.Owner < b.Owner || (a.Owner == b.Owner && a.Template < b.Template)
}

func setOnce(dst *string, v string) bool {
	if v == "" || *dst == v {
		return false
	}
	if *dst == "" || v < *dst {
		*dst = v
		return true
	}
	return false
}

// Dominates reports whether merging in into r would leave r unchanged.
func (r *Record) Dominates(in *Record) bool {
	c := *r
	return !c.Merge(in)
}
