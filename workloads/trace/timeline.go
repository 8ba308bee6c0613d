package trace

import (
	"container/heap"
	"iter"
	"time"
)

// Arrival is one invocation placed on the experiment's clock.
type Arrival struct {
	// Function indexes Schedule.Functions; Index is the invocation's position
	// in that function's schedule.
	Function, Index int
	// At is the offset from the experiment start at which the loader's
	// driver fires the invocation: the sum of the function's IATs, each
	// truncated to whole microseconds as the driver does.
	At time.Duration
	// Minute and MinuteIndex name the invocation as the loader does
	// (InvocationID).
	Minute, MinuteIndex int
	RuntimeMs           int32
	MemoryMiB           int32
}

// Timeline yields all invocations of the schedule in order of At (ties by
// function row), merging the per-function schedules lazily with a heap, so
// a replay can walk the experiment without materialising another copy.
func (s *Schedule) Timeline() iter.Seq[Arrival] {
	return func(yield func(Arrival) bool) {
		h := make(cursorHeap, 0, len(s.Functions))
		for i, fs := range s.Functions {
			if len(fs.Invocations) > 0 {
				c := cursor{fn: i, at: fs.Invocations[0].IAT()}
				c.settle(fs)
				h = append(h, c)
			}
		}
		heap.Init(&h)
		for len(h) > 0 {
			c := &h[0]
			fs := s.Functions[c.fn]
			inv := fs.Invocations[c.k]
			a := Arrival{Function: c.fn, Index: c.k, At: c.at, Minute: c.minute, MinuteIndex: c.inMinute,
				RuntimeMs: inv.RuntimeMs, MemoryMiB: inv.MemoryMiB}
			if !yield(a) {
				return
			}
			c.k++
			if c.k == len(fs.Invocations) {
				heap.Pop(&h)
				continue
			}
			c.at += fs.Invocations[c.k].IAT()
			c.inMinute++
			c.settle(fs)
			heap.Fix(&h, 0)
		}
	}
}

// cursor walks one function's schedule.
type cursor struct {
	fn, k            int
	at               time.Duration
	minute, inMinute int
}

// settle moves minute/inMinute to the column holding invocation k.
func (c *cursor) settle(fs *FunctionSchedule) {
	for c.minute < len(fs.PerMinute) && c.inMinute >= int(fs.PerMinute[c.minute]) {
		c.minute++
		c.inMinute = 0
	}
}

type cursorHeap []cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].fn < h[j].fn
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
