package burst

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
)

type mortal struct {
	baselines.System // only Name and Dead are called
	dead             atomic.Bool
}

func (m *mortal) Name() string { return "kd" }
func (m *mortal) Dead() error {
	if m.dead.Load() {
		return errors.New("kd-replicaset on localhost exited")
	}
	return nil
}

type immortal struct{ baselines.System }

// TestStopOnDeath: a burst's wait ends, naming the process, when one of
// the system's processes exits; systems without processes are not watched.
func TestStopOnDeath(t *testing.T) {
	m := &mortal{}
	ctx, stop := stopOnDeath(context.Background(), m)
	defer stop()
	select {
	case <-ctx.Done():
		t.Fatal("ended while every process ran")
	case <-time.After(2 * livenessEvery):
	}
	m.dead.Store(true)
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("a dead process did not end the wait")
	}
	require.ErrorContains(t, context.Cause(ctx), "kd: a process of the system died mid-burst: kd-replicaset on localhost exited")

	base := context.Background()
	ctx2, stop2 := stopOnDeath(base, immortal{})
	stop2()
	require.Equal(t, base, ctx2)
}
