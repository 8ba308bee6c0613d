package egress

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

// Batch bounds for NewBatching: a batch goes out once no pod was created
// for Window, or MaxDelay after its first pod, or at MaxPods pods.
const (
	BatchWindow   = 2 * time.Millisecond
	BatchMaxDelay = 20 * time.Millisecond
	BatchMaxPods  = 4096
)

// NewBatching returns the Writer of a hop whose pod creations are sent as
// one write, so that the pods a ReplicaSet sync creates reach the next hop
// in one frame (the artifact's SchedulePods(rs, n)): the upstream
// controller creates them one call at a time, in slow-start rounds that
// each wait for the previous round's calls, which return at once here.
// CreatePod returns before its record is in the hop's cache; every other
// write sends the pending pods first, so records keep their order. An
// error writing a batch (the hop stopped) is returned by the next call.
func NewBatching(h Hop) Writer { return newBatching(h, BatchWindow, BatchMaxDelay) }

func newBatching(h Hop, window, maxDelay time.Duration) *batching {
	b := &batching{writer: writer{h: h}, keys: map[wire.Key]bool{}, window: window, maxDelay: maxDelay}
	b.timer = time.AfterFunc(time.Hour, func() { b.setErr(b.flush()) })
	b.timer.Stop()
	return b
}

type batching struct {
	writer
	window, maxDelay time.Duration
	send             sync.Mutex // one batch written at a time, in order

	mu      sync.Mutex
	pending []wire.Record
	keys    map[wire.Key]bool
	ctx     context.Context // the first pending create's, without its cancel
	first   time.Time
	timer   *time.Timer
	err     error
}

func (b *batching) setErr(err error) {
	if err != nil {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
}

// takeErr returns (and clears) a batch's error.
func (b *batching) takeErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.err
	b.err = nil
	return err
}

func (b *batching) CreatePod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	if err := b.takeErr(); err != nil {
		return nil, err
	}
	p, rec, err := newPod(pod)
	if err != nil {
		return nil, err
	}
	key := rec.Key()
	b.mu.Lock()
	if _, exists := b.h.Store().Get(key); exists || b.keys[key] {
		b.mu.Unlock()
		return nil, apierrors.NewAlreadyExists(podResource, p.Name)
	}
	if len(b.pending) == 0 {
		b.ctx, b.first = context.WithoutCancel(ctx), time.Now()
	}
	b.pending = append(b.pending, rec)
	b.keys[key] = true
	now := len(b.pending) >= BatchMaxPods || time.Since(b.first) >= b.maxDelay
	if !now {
		b.timer.Reset(min(b.window, b.maxDelay-time.Since(b.first)))
	}
	b.mu.Unlock()
	if now {
		if err := b.flush(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// flush writes the pending pods in one write.
func (b *batching) flush() error {
	b.send.Lock()
	defer b.send.Unlock()
	b.mu.Lock()
	recs, ctx := b.pending, b.ctx
	b.pending, b.keys, b.ctx = nil, map[wire.Key]bool{}, nil
	b.timer.Stop()
	b.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	return b.h.Write(ctx, recs...)
}

// before runs ahead of every other write: the pods created so far go first.
func (b *batching) before() error {
	if err := b.takeErr(); err != nil {
		return err
	}
	return b.flush()
}

func (b *batching) Scale(ctx context.Context, kind wire.Kind, namespace, name string, replicas int32) error {
	if err := b.before(); err != nil {
		return err
	}
	return b.writer.Scale(ctx, kind, namespace, name, replicas)
}

func (b *batching) DeletePod(ctx context.Context, namespace, name string) error {
	if err := b.before(); err != nil {
		return err
	}
	return b.writer.DeletePod(ctx, namespace, name)
}

func (b *batching) Bind(ctx context.Context, binding *corev1.Binding) error {
	if err := b.before(); err != nil {
		return err
	}
	return b.writer.Bind(ctx, binding)
}

func (b *batching) SetRunning(ctx context.Context, namespace, name string) error {
	if err := b.before(); err != nil {
		return err
	}
	return b.writer.SetRunning(ctx, namespace, name)
}

func (b *batching) SetTerminated(ctx context.Context, namespace, name string) error {
	if err := b.before(); err != nil {
		return err
	}
	return b.writer.SetTerminated(ctx, namespace, name)
}
