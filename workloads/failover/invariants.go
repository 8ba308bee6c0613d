package failover

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Violation kinds: what the failover invariants forbid.
const (
	Duplicate    = "duplicate"    // two live pods with one name, or one UID added twice
	Resurrection = "resurrection" // a pod seen deleted is added again
	Short        = "short"        // fewer Ready pods than desired at the deadline
	Excess       = "excess"       // more pods than desired at the deadline
	Leak         = "leak"         // pods left after scaling to zero
	Timeout      = "timeout"      // no convergence within the case's limit
)

// Violation is one broken invariant, a result (recorded per case), not an
// error of the harness.
type Violation struct {
	Kind   string
	Detail string
}

func (v Violation) String() string { return v.Kind + ": " + v.Detail }

// FormatViolations joins violations for one CSV field.
func FormatViolations(vs []Violation) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, "; ")
}

type podState struct {
	name     string
	ready    bool
	deleting bool
}

// Checker follows one namespace's pods through informer events and checks
// the invariants as they happen (duplicates, resurrections) and on demand
// (Converged, Leaked). Its clock stamps convergence with the time of the
// event that reached it. Safe for concurrent use.
type Checker struct {
	now func() time.Time

	mu          sync.Mutex
	live        map[types.UID]podState
	byName      map[string]types.UID
	gone        map[types.UID]string // deleted pods, UID → name
	goneNames   map[string]bool
	violations  []Violation
	want        int
	convergedAt time.Time
	changed     chan struct{} // closed and replaced on every event
}

// NewChecker returns a checker stamping convergence with now (time.Now if nil).
func NewChecker(now func() time.Time) *Checker {
	if now == nil {
		now = time.Now
	}
	return &Checker{now: now, live: map[types.UID]podState{}, byName: map[string]types.UID{},
		gone: map[types.UID]string{}, goneNames: map[string]bool{}, want: -1, changed: make(chan struct{})}
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// OnAdd is the informer's add handler.
func (c *Checker) OnAdd(obj any, _ bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.gone[p.UID] != "" || c.goneNames[p.Name]:
		c.violations = append(c.violations, Violation{Resurrection, fmt.Sprintf("pod %s (uid %s) added again after its deletion", p.Name, p.UID)})
	case c.live[p.UID].name != "":
		c.violations = append(c.violations, Violation{Duplicate, fmt.Sprintf("pod %s (uid %s) added twice", p.Name, p.UID)})
	case c.byName[p.Name] != "" && c.byName[p.Name] != p.UID:
		c.violations = append(c.violations, Violation{Duplicate, fmt.Sprintf("pod %s exists as uid %s and %s", p.Name, c.byName[p.Name], p.UID)})
	}
	c.setLocked(p)
}

// OnUpdate is the informer's update handler.
func (c *Checker) OnUpdate(_, obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone[p.UID] != "" {
		c.violations = append(c.violations, Violation{Resurrection, fmt.Sprintf("pod %s (uid %s) updated after its deletion", p.Name, p.UID)})
	}
	c.setLocked(p)
}

// OnDelete is the informer's delete handler (tombstones included).
func (c *Checker) OnDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	var uid types.UID
	var name string
	switch o := obj.(type) {
	case *corev1.Pod:
		uid, name = o.UID, o.Name
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, uid)
	if c.byName[name] == uid {
		delete(c.byName, name)
	}
	c.gone[uid], c.goneNames[name] = name, true
	c.eventLocked()
}

func (c *Checker) setLocked(p *corev1.Pod) {
	c.live[p.UID] = podState{name: p.Name, ready: ready(p), deleting: p.DeletionTimestamp != nil}
	c.byName[p.Name] = p.UID
	c.eventLocked()
}

// eventLocked re-evaluates convergence after a change and wakes waiters.
func (c *Checker) eventLocked() {
	if c.want >= 0 {
		if ok, _ := c.convergedLocked(c.want); !ok {
			c.convergedAt = time.Time{}
		} else if c.convergedAt.IsZero() {
			c.convergedAt = c.now()
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// convergedLocked: exactly want pods, each Ready and none being deleted.
func (c *Checker) convergedLocked(want int) (bool, string) {
	readyN, deleting := 0, 0
	for _, s := range c.live {
		if s.deleting {
			deleting++
		} else if s.ready {
			readyN++
		}
	}
	state := fmt.Sprintf("%d pods, %d Ready, %d terminating, want %d Ready", len(c.live), readyN, deleting, want)
	return len(c.live) == want && readyN == want, state
}

// Want sets the desired count from now on; convergence is stamped at the
// first event (or now) at which the namespace holds it.
func (c *Checker) Want(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.want, c.convergedAt = n, time.Time{}
	if ok, _ := c.convergedLocked(n); ok {
		c.convergedAt = c.now()
	}
}

// Count returns the number of pods that exist (terminating included).
func (c *Checker) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live)
}

// WaitConverged waits until the desired count (Want) holds and returns when
// it was first reached; at ctx's end it returns the shortfall as a
// violation (Short or Excess) and a zero time.
func (c *Checker) WaitConverged(ctxDone <-chan struct{}) (time.Time, []Violation) {
	for {
		c.mu.Lock()
		at, ch, want := c.convergedAt, c.changed, c.want
		ok, state := c.convergedLocked(want)
		n := len(c.live)
		c.mu.Unlock()
		if ok && !at.IsZero() {
			return at, nil
		}
		select {
		case <-ch:
		case <-ctxDone:
			kind := Short
			if n > want {
				kind = Excess
			}
			return time.Time{}, []Violation{{kind, state}}
		}
	}
}

// WaitFor waits until cond holds for the pod count (or done closes).
func (c *Checker) WaitFor(done <-chan struct{}, cond func(pods int) bool) bool {
	for {
		c.mu.Lock()
		n, ch := len(c.live), c.changed
		c.mu.Unlock()
		if cond(n) {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

// Leaked returns a Leak violation naming the pods that still exist, if any
// (call it after scaling to zero and waiting).
func (c *Checker) Leaked() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.live) == 0 {
		return nil
	}
	names := make([]string, 0, len(c.live))
	for _, s := range c.live {
		names = append(names, s.name)
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(c.live)-5))
	}
	return []Violation{{Leak, fmt.Sprintf("%d pods left after scaling to 0: %s", len(c.live), strings.Join(names, ", "))}}
}

// Violations returns the invariant violations seen so far (duplicates,
// resurrections), in order.
func (c *Checker) Violations() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Violation(nil), c.violations...)
}
