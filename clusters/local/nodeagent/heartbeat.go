package nodeagent

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// beatKind is what a heartbeat item renews.
type beatKind uint8

const (
	beatLease beatKind = iota
	beatStatus
)

type beatKey struct {
	node int
	kind beatKind
}

// maxHeartbeatWorkers: lease renewals are single small writes; a few workers keep up
// with 2000 nodes at ~100 renewals per second.
const maxHeartbeatWorkers = 16

// heartbeatJitter spreads renewals by ±5% so that nodes registered together drift
// apart rather than renewing in lockstep.
const heartbeatJitter = 0.05

func newHeartbeatQueue(a *Agent) workqueue.TypedRateLimitingInterface[beatKey] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[beatKey](200*time.Millisecond, 5*time.Second),
		workqueue.TypedRateLimitingQueueConfig[beatKey]{Clock: a.clock})
}

// scheduleHeartbeats staggers every node's first renewal uniformly over one interval:
// the Leases were all written at registration, and renewing them in the same instant
// would give the API server bursts instead of a steady trickle.
func (a *Agent) scheduleHeartbeats() {
	renew, status := a.cfg.renewInterval(), a.cfg.StatusInterval
	n := time.Duration(len(a.nodeList))
	for i := range a.nodeList {
		d := time.Duration(i + 1)
		a.beatAfter(beatKey{node: i, kind: beatLease}, renew*d/n)
		a.beatAfter(beatKey{node: i, kind: beatStatus}, status*d/n)
	}
}

func (a *Agent) runHeartbeats(ctx context.Context, wg *sync.WaitGroup) {
	for range min(maxHeartbeatWorkers, len(a.nodeList)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a.processBeat(ctx) {
			}
		}()
	}
}

func (a *Agent) processBeat(ctx context.Context) bool {
	key, quit := a.beats.Get()
	if quit {
		return false
	}
	defer a.beats.Done(key)
	n := a.nodeList[key.node]
	if n.gone.Load() {
		a.beats.Forget(key)
		return true
	}
	var err error
	interval := a.cfg.StatusInterval
	if key.kind == beatLease {
		interval = a.cfg.renewInterval()
		if err = a.renewLease(ctx, n); err != nil {
			a.m.leaseRenewErrors.Inc()
		}
	} else if err = a.postNodeStatus(ctx, n); err != nil {
		a.m.nodeStatusErrors.Inc()
	}
	if err != nil {
		if ctx.Err() == nil {
			a.logger.V(2).Info("Retrying node heartbeat", "node", n.name, "lease", key.kind == beatLease, "err", err)
		}
		a.beats.AddRateLimited(key)
		return true
	}
	a.beats.Forget(key)
	a.beatAfter(key, jitter(interval))
	return true
}

// beatAfter queues key after d. Like the pod delays it uses a clock timer, whose
// deadline is fixed at the call. Only scheduleHeartbeats (before the workers start)
// and the worker holding key call it, so the key's timer slot needs no lock.
func (a *Agent) beatAfter(key beatKey, d time.Duration) {
	slot := &a.beatTimers[key.node][key.kind]
	if *slot != nil {
		(*slot).Stop()
	}
	*slot = a.clock.AfterFunc(d, func() { a.beats.Add(key) })
}

// stopBeatTimers cancels the pending heartbeats once the workers have exited, so a
// stopped agent holds no timers (and nothing keeps it reachable).
func (a *Agent) stopBeatTimers() {
	for i := range a.beatTimers {
		for _, t := range a.beatTimers[i] {
			if t != nil {
				t.Stop()
			}
		}
	}
}

func jitter(d time.Duration) time.Duration {
	f := 1 - heartbeatJitter + 2*heartbeatJitter*rand.Float64()
	return time.Duration(float64(d) * f)
}

// renewLease moves n's Lease renewTime to now, using the Lease the server last returned
// (no read per renewal, as the kubelet does). After a conflict or a missing Lease the
// next attempt re-reads or re-creates it.
func (a *Agent) renewLease(ctx context.Context, n *simNode) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := a.clock.Now()
	if n.lease == nil {
		l, err := leases.Get(ctx, n.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l, err = leases.Create(ctx, buildLease(a.cfg, n, now), metav1.CreateOptions{})
			if err == nil {
				n.lease = l
			}
			return err
		}
		if err != nil {
			return err
		}
		n.lease = l
	}
	l := n.lease.DeepCopy()
	want := buildLease(a.cfg, n, now)
	l.Spec.HolderIdentity = want.Spec.HolderIdentity
	l.Spec.LeaseDurationSeconds = want.Spec.LeaseDurationSeconds
	l.Spec.RenewTime = want.Spec.RenewTime
	res, err := leases.Update(ctx, l, metav1.UpdateOptions{})
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			n.lease = nil
		}
		return err
	}
	n.lease = res
	return nil
}

// postNodeStatus refreshes the heartbeat time of n's conditions. A strategic merge
// patch keyed by condition type leaves lastTransitionTime and every other field alone
// and cannot conflict.
func (a *Agent) postNodeStatus(ctx context.Context, n *simNode) error {
	now := metav1.NewTime(a.clock.Now())
	conds := nodeConditions(now, now)
	patch := make([]map[string]any, 0, len(conds))
	for _, c := range conds {
		patch = append(patch, map[string]any{
			"type":              c.Type,
			"status":            c.Status,
			"reason":            c.Reason,
			"message":           c.Message,
			"lastHeartbeatTime": c.LastHeartbeatTime,
		})
	}
	data, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": patch}})
	if err != nil {
		return err
	}
	_, err = a.client.CoreV1().Nodes().Patch(ctx, n.name, types.StrategicMergePatchType, data,
		metav1.PatchOptions{}, "status")
	return err
}
