package burst

import (
	"context"
	"fmt"
	"time"

	"github.com/kdbench/kdbench/baselines"
)

// livenessEvery is how often a burst checks that the system's own
// processes still run.
const livenessEvery = time.Second

// stopOnDeath returns a context that ends, with the system's Dead error as
// its cause, when one of the system's processes exits: a burst whose chain
// lost a hop cannot finish, and waiting out --rep-timeout hides why.
func stopOnDeath(ctx context.Context, sys baselines.System) (context.Context, func()) {
	if _, ok := sys.(baselines.Live); !ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(livenessEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := baselines.Dead(sys); err != nil {
					cancel(fmt.Errorf("%s: a process of the system died mid-burst: %w", sys.Name(), err))
					return
				}
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}
