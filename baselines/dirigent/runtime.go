package dirigent

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Runtime runs a worker's sandboxes once the worker has paid their creation
// cost. It is the seam where the local cluster's function servers plug in.
type Runtime interface {
	// Start makes sandbox id of fn ready to serve.
	Start(ctx context.Context, id string, fn Function) error
	// Invoke runs one call in sandbox id.
	Invoke(ctx context.Context, id string, c Call) (Reply, error)
	// Stop releases sandbox id; unknown ids are ignored.
	Stop(id string)
}

// SleepRuntime is a sandbox whose function sleeps for the requested
// runtime, as the papers' workload functions do.
type SleepRuntime struct {
	mu   sync.Mutex
	live map[string]Function
}

// NewSleepRuntime returns an empty SleepRuntime.
func NewSleepRuntime() *SleepRuntime { return &SleepRuntime{live: map[string]Function{}} }

func (r *SleepRuntime) Start(_ context.Context, id string, fn Function) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[id] = fn
	return nil
}

func (r *SleepRuntime) Invoke(ctx context.Context, id string, c Call) (Reply, error) {
	r.mu.Lock()
	_, ok := r.live[id]
	r.mu.Unlock()
	if !ok {
		return Reply{}, fmt.Errorf("sandbox %s is not running", id)
	}
	start := time.Now()
	t := time.NewTimer(c.Runtime())
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return Reply{}, fmt.Errorf("sandbox %s: invocation %s: %w", id, c.ID, ctx.Err())
	}
	return Reply{Sandbox: id, DurationUs: time.Since(start).Microseconds(), MemoryMiB: c.MemoryMiB}, nil
}

func (r *SleepRuntime) Stop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, id)
}
