package dirigent

import "time"

// The control plane's in-memory state. All fields are guarded by
// ControlPlane.mu.

type function struct {
	spec       Function
	registered time.Time
	desired    int
	sandboxes  map[string]*sandbox
	scaler     *Autoscaler
	// samples is the last concurrency each data plane reported.
	samples map[string]float64
	// unplaced says the last reconcile found no room, already logged.
	unplaced bool
	// With an external Backend: requested is the count it last accepted;
	// scaling says a request to it is outstanding.
	requested int
	scaling   bool
}

type sandbox struct {
	id     string
	seq    uint64 // creation order
	worker *worker
	url    string // invocation URL, once created
	placed time.Time
	ready  bool
	// deleting marks a sandbox being drained, or a creation to undo once
	// it completes.
	deleting bool
}

type worker struct {
	info          workerInfo
	lastHeartbeat time.Time
	alive         bool
	// cpu and mem are the requests of the sandboxes placed on the worker.
	cpu, mem  int64
	sandboxes int
}

// live counts the sandboxes not being deleted, and the Ready ones among them.
func (f *function) live() (live, ready int) {
	for _, s := range f.sandboxes {
		if !s.deleting {
			live++
			if s.ready {
				ready++
			}
		}
	}
	return live, ready
}

func (f *function) refs() []SandboxRef {
	out := make([]SandboxRef, 0, len(f.sandboxes))
	for _, s := range f.sandboxes {
		if s.ready && !s.deleting {
			out = append(out, SandboxRef{ID: s.id, Worker: s.worker.info.Name, URL: s.url})
		}
	}
	return out
}

func (f *function) concurrency() float64 {
	sum := 0.0
	for _, v := range f.samples {
		sum += v
	}
	return sum
}
