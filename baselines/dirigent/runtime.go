package dirigent

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Runtime runs a worker's sandboxes once the worker has paid their creation
// cost. It is the seam where the local cluster's function servers plug in:
// a runtime whose sandboxes serve HTTP themselves returns their URL from
// Start, and the data planes then call them directly (a POST of a Call
// JSON answered by a Reply JSON), as Dirigent's data plane proxies to the
// sandbox's address; otherwise calls go through the worker to Invoke.
type Runtime interface {
	// Start makes sandbox id of fn ready to serve. It returns the sandbox's
	// invocation URL, or "" to be invoked through the worker daemon.
	Start(ctx context.Context, id string, fn Function) (url string, err error)
	// Invoke runs one call in sandbox id (only for sandboxes without URL).
	Invoke(ctx context.Context, id string, c Call) (Reply, error)
	// Stop releases sandbox id once its running calls are done; unknown
	// ids are ignored.
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

func (r *SleepRuntime) Start(_ context.Context, id string, fn Function) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[id] = fn
	return "", nil
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
