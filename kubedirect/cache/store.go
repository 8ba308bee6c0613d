// Package cache is a hop's object cache: the records a hop holds (desired state
// from upstream, its own writes, truth reported from downstream), merged as a
// semilattice, with a revision counter and a bounded event log so that
// client-go style List+Watch readers (the ingress) can follow it.
//
// A Store has one writer (the hop's event loop) and any number of readers.
package cache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// EventType is the kind of change in the event log.
type EventType uint8

const (
	Added EventType = iota + 1
	Modified
	Deleted
)

func (t EventType) String() string {
	return [...]string{"?", "Added", "Modified", "Deleted"}[t]
}

// Event is one change, numbered by the store revision it produced.
type Event struct {
	Type   EventType
	Record wire.Record
	Rev    uint64
}

// ErrTooOld is returned by Watch when the requested revision is no longer in
// the log; the reader must List again (client-go's 410 Gone).
var ErrTooOld = errors.New("cache: revision too old")

type ownerKey struct {
	kind      wire.Kind
	namespace string
	owner     string
}

// Store holds records by key.
type Store struct {
	mu      sync.RWMutex
	recs    map[wire.Key]*wire.Record
	owned   map[ownerKey]map[wire.Key]struct{}
	rev     uint64
	log     []Event // events with Rev in (rev-len(log), rev]
	logCap  int
	changed chan struct{} // closed and replaced on every logged change
}

// New returns an empty store that keeps the last logCap events for watchers;
// logCap 0 disables watching.
func New(logCap int) *Store {
	return &Store{
		recs:    make(map[wire.Key]*wire.Record),
		owned:   make(map[ownerKey]map[wire.Key]struct{}),
		logCap:  logCap,
		changed: make(chan struct{}),
	}
}

// Get returns a copy of the record under k.
func (s *Store) Get(k wire.Key) (wire.Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.recs[k]; ok {
		return *r, true
	}
	return wire.Record{}, false
}

// Len is the number of records.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs)
}

// Rev is the revision of the last change.
func (s *Store) Rev() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rev
}

// Merge joins r into the store and returns the resulting record and whether it
// changed (a new record counts as a change).
func (s *Store) Merge(r *wire.Record) (wire.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := r.Key()
	cur, ok := s.recs[k]
	if !ok {
		c := *r
		s.recs[k] = &c
		s.index(&c, true)
		s.append(Added, c)
		return c, true
	}
	old := *cur
	if !cur.Merge(r) {
		return *cur, false
	}
	if old.Owner != cur.Owner {
		s.index(&old, false)
		s.index(cur, true)
	}
	s.append(Modified, *cur)
	return *cur, true
}

// Delete removes the record under k and returns it.
func (s *Store) Delete(k wire.Key) (wire.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.recs[k]
	if !ok {
		return wire.Record{}, false
	}
	delete(s.recs, k)
	s.index(cur, false)
	s.append(Deleted, *cur)
	return *cur, true
}

func (s *Store) index(r *wire.Record, add bool) {
	if r.Owner == "" {
		return
	}
	ok := ownerKey{r.Kind, r.Namespace, r.Owner}
	set := s.owned[ok]
	if add {
		if set == nil {
			set = make(map[wire.Key]struct{})
			s.owned[ok] = set
		}
		set[r.Key()] = struct{}{}
		return
	}
	delete(set, r.Key())
	if len(set) == 0 {
		delete(s.owned, ok)
	}
}

func (s *Store) append(t EventType, r wire.Record) {
	s.rev++
	if s.logCap == 0 {
		return
	}
	if len(s.log) >= 2*s.logCap {
		// Trim in bulk so appends stay amortised O(1).
		n := copy(s.log, s.log[len(s.log)-s.logCap:])
		clear(s.log[n:])
		s.log = s.log[:n]
	}
	s.log = append(s.log, Event{Type: t, Record: r, Rev: s.rev})
	close(s.changed)
	s.changed = make(chan struct{})
}

// Owned returns copies of the records of kind owned by owner, sorted by name.
func (s *Store) Owned(kind wire.Kind, namespace, owner string) []wire.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := s.owned[ownerKey{kind, namespace, owner}]
	out := make([]wire.Record, 0, len(set))
	for k := range set {
		out = append(out, *s.recs[k])
	}
	sortRecords(out)
	return out
}

// List returns copies of all records of kind (0 for all kinds), sorted by key,
// and the revision they reflect.
func (s *Store) List(kind wire.Kind) ([]wire.Record, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]wire.Record, 0, len(s.recs))
	for _, r := range s.recs {
		if kind == 0 || r.Kind == kind {
			out = append(out, *r)
		}
	}
	sortRecords(out)
	return out, s.rev
}

func sortRecords(rs []wire.Record) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i].Key(), rs[j].Key()
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// Watch streams the events of kind (0 for all) after revision from until ctx
// ends. It fails with ErrTooOld if from has left the log. The channel is closed
// when ctx ends or the watcher falls out of the log (then the reader relists).
func (s *Store) Watch(ctx context.Context, kind wire.Kind, from uint64) (<-chan Event, error) {
	s.mu.RLock()
	if s.logCap == 0 {
		s.mu.RUnlock()
		return nil, errors.New("cache: store has no event log")
	}
	if from > s.rev {
		s.mu.RUnlock()
		return nil, fmt.Errorf("cache: revision %d is in the future (current %d)", from, s.rev)
	}
	if from < s.rev-uint64(len(s.log)) {
		s.mu.RUnlock()
		return nil, fmt.Errorf("%w: %d, oldest kept %d", ErrTooOld, from, s.rev-uint64(len(s.log)))
	}
	s.mu.RUnlock()
	ch := make(chan Event, 128)
	go s.feed(ctx, kind, from, ch)
	return ch, nil
}

func (s *Store) feed(ctx context.Context, kind wire.Kind, next uint64, ch chan<- Event) {
	defer close(ch)
	var batch []Event
	for {
		s.mu.RLock()
		oldest := s.rev - uint64(len(s.log))
		if next < oldest {
			s.mu.RUnlock()
			return // fell behind; the closed channel makes the reader relist
		}
		batch = append(batch[:0], s.log[len(s.log)-int(s.rev-next):]...)
		wait := s.changed
		s.mu.RUnlock()
		for _, ev := range batch {
			next = ev.Rev
			if kind != 0 && ev.Record.Kind != kind {
				continue
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return
		}
	}
}
