package nodeagent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// maxOrphanReads bounds the API reads of one housekeeping pass; the rest
// wait for the next pass.
const maxOrphanReads = 64

// housekeeping forgets tracked pods the API server no longer has, like the
// kubelet's periodic housekeeping. The lifecycle normally drops a pod on the
// informer's delete event; housekeeping covers what that cannot see: a pod
// that a direct source handed over and that was deleted before the informer
// listed it, or a create and a delete both skipped by a relist. Only pods
// tracked for two intervals and absent from the informer's cache (or there
// with another UID) cost a GET; NotFound, or another UID, forgets them.
func (a *Agent) housekeeping(ctx context.Context, store cache.Store) {
	every := a.cfg.HousekeepingInterval
	t := a.clock.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			a.sweep(ctx, store, a.clock.Now().Add(-2*every))
		}
	}
}

// sweep is one housekeeping pass over the pods bound before boundBefore.
func (a *Agent) sweep(ctx context.Context, store cache.Store, boundBefore time.Time) {
	reads := 0
	for _, p := range a.life.snapshot() {
		// A pod without a UID is being created by its direct source, which
		// drops it if its tombstone comes first.
		if p.UID == "" || !p.Bound.Before(boundBefore) || reads == maxOrphanReads {
			continue
		}
		if obj, ok, _ := store.GetByKey(p.Namespace + "/" + p.Name); ok && obj.(*corev1.Pod).UID == p.UID {
			continue
		}
		reads++
		cur, err := a.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err), err == nil && cur.UID != p.UID:
			if a.life.forget(types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, p.UID) {
				a.m.orphansForgotten.Inc()
				a.logger.Info("Forgot a pod gone from the API server without a delete event", "pod", p.Namespace+"/"+p.Name, "uid", p.UID)
			}
		case err != nil && ctx.Err() == nil:
			a.logger.V(2).Info("Housekeeping read failed", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
	}
}
