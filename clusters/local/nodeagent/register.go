package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kdbench/kdbench/kubedirect/egress"
)

// defaultRegisterBackoff retries a node's registration through a briefly unavailable
// API server (about 20s in all) before Run gives up.
var defaultRegisterBackoff = wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 8, Cap: 5 * time.Second}

// permanentError marks a registration failure that retrying cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// retriable reports whether err may go away by itself: network errors, the API
// server's overload, timeout and conflict answers, and NotFound (kube-node-lease is
// created by the API server shortly after it starts serving).
func retriable(err error) bool {
	var pe permanentError
	if errors.As(err, &pe) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // no answer from the server at all
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsConflict(err) ||
		apierrors.IsNotFound(err)
}

// registerAll creates every node and its Lease, RegisterParallelism at a time. The
// first node that cannot be registered stops the rest.
func (a *Agent) registerAll(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, a.cfg.RegisterParallelism)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
loop:
	for _, n := range a.nodeList {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := a.registerWithRetry(ctx, n); err != nil && ctx.Err() == nil {
				once.Do(func() { firstErr = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (a *Agent) registerWithRetry(ctx context.Context, n *simNode) error {
	b := a.registerBackoff
	for {
		err := a.registerNode(ctx, n)
		if err == nil {
			return nil
		}
		if !retriable(err) || b.Steps <= 1 {
			return fmt.Errorf("nodeagent: registering node %s: %w", n.name, err)
		}
		a.logger.V(2).Info("Retrying node registration", "node", n.name, "err", err)
		t := time.NewTimer(b.Step())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// registerNode creates n with a Ready status and its Lease. A node that already exists
// (a previous agent run) is taken over, as the kubelet does on restart.
func (a *Agent) registerNode(ctx context.Context, n *simNode) error {
	want := buildNode(a.cfg, n, a.clock.Now())
	got, err := a.client.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = a.adoptNode(ctx, want)
	}
	if err != nil {
		return err
	}
	if hasConditionTaint(got.Spec.Taints) {
		// The TaintNodesByCondition admission plugin taints every new node
		// not-ready:NoSchedule until the node lifecycle controller sees it Ready. That
		// controller clears about 10 nodes a second at the default client QPS, so 80
		// nodes would be unschedulable for seconds and 2000 for minutes: the node is
		// Ready from birth, so clear it at once (the API server does not re-add it on
		// update).
		if got, err = a.clearConditionTaints(ctx, got); err != nil {
			return err
		}
	}
	n.uid = got.UID
	return a.ensureLease(ctx, n)
}

// conditionTaintKeys are the taints the node lifecycle controller derives from a node
// not being Ready; they contradict the Ready status the agent posts.
var conditionTaintKeys = []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable}

func hasConditionTaint(ts []corev1.Taint) bool {
	for _, t := range ts {
		if slices.Contains(conditionTaintKeys, t.Key) {
			return true
		}
	}
	return false
}

func withoutConditionTaints(ts []corev1.Taint) []corev1.Taint {
	return slices.DeleteFunc(slices.Clone(ts), func(t corev1.Taint) bool {
		return slices.Contains(conditionTaintKeys, t.Key)
	})
}

// clearConditionTaints removes the not-ready and unreachable taints from node,
// re-reading it after a conflict (the node lifecycle controller may be removing them
// too).
func (a *Agent) clearConditionTaints(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	nodes := a.client.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		upd := node.DeepCopy()
		upd.Spec.Taints = withoutConditionTaints(upd.Spec.Taints)
		got, err := nodes.Update(ctx, upd, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) || attempt >= maxConflictRetries {
			return got, err
		}
		if node, err = nodes.Get(ctx, node.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
		if !hasConditionTaint(node.Spec.Taints) {
			return node, nil
		}
	}
}

func (a *Agent) adoptNode(ctx context.Context, want *corev1.Node) (*corev1.Node, error) {
	nodes := a.client.CoreV1().Nodes()
	cur, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if cur.Spec.PodCIDR != "" && cur.Spec.PodCIDR != want.Spec.PodCIDR {
		// spec.podCIDR is immutable once set, and pod IPs must stay unique.
		return nil, permanentError{fmt.Errorf("node exists with podCIDR %s, not %s: delete it or pass the pod CIDR it was created with",
			cur.Spec.PodCIDR, want.Spec.PodCIDR)}
	}
	upd := cur.DeepCopy()
	if upd.Labels == nil {
		upd.Labels = map[string]string{}
	}
	maps.Copy(upd.Labels, want.Labels)
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	maps.Copy(upd.Annotations, want.Annotations)
	if _, direct := want.Annotations[egress.AgentAnnotation]; !direct {
		// A previous run served direct mode; this one does not.
		delete(upd.Annotations, egress.AgentAnnotation)
	}
	upd.Spec.PodCIDR, upd.Spec.PodCIDRs = want.Spec.PodCIDR, want.Spec.PodCIDRs
	// A previous run's node may carry not-ready or unreachable taints; the status
	// posted below says Ready, so drop them, as the lifecycle controller would.
	upd.Spec.Taints = withoutConditionTaints(upd.Spec.Taints)
	for _, t := range want.Spec.Taints {
		if !hasTaint(upd.Spec.Taints, t) {
			upd.Spec.Taints = append(upd.Spec.Taints, t)
		}
	}
	if upd, err = nodes.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	upd.Status = want.Status
	return nodes.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
}

func hasTaint(ts []corev1.Taint, t corev1.Taint) bool {
	for _, x := range ts {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

// ensureLease creates n's Lease, or takes over the one a previous run left.
func (a *Agent) ensureLease(ctx context.Context, n *simNode) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	want := buildLease(a.cfg, n, a.clock.Now())
	got, err := leases.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = leases.Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		got.Spec = want.Spec
		got.OwnerReferences = want.OwnerReferences
		got, err = leases.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil {
		return err
	}
	n.lease = got
	return nil
}

// deleteAll removes the agent's Nodes and Leases (DeleteNodesOnExit). It runs after
// Run's context is done, so it gets its own deadline.
func (a *Agent) deleteAll(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sem := make(chan struct{}, a.cfg.RegisterParallelism)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, n := range a.nodeList {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := a.client.CoreV1().Nodes().Delete(ctx, n.name, metav1.DeleteOptions{})
			if err == nil || apierrors.IsNotFound(err) {
				err = a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, n.name, metav1.DeleteOptions{})
			}
			if err != nil && !apierrors.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("node %s: %w", n.name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("nodeagent: deleting nodes: %d failed, first: %w", len(errs), errs[0])
	}
	return nil
}
