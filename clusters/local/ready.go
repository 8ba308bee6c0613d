package local

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/version"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

var etcdServerVersion = version.Version

// waitNodesReady waits until want nodes are Ready.
func waitNodesReady(ctx context.Context, cs kubernetes.Interface, want int, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := readyNodes(ctx, cs)
		if err == nil && n >= want {
			return n, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d of %d nodes Ready", n, want)
			}
			return n, fmt.Errorf("nodes not Ready after %s: %w", timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitServiceAccount waits for the default namespace's service account,
// without which pods cannot be admitted; the controller-manager creates it
// once all its controllers have started and synced.
func waitServiceAccount(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service account default/default not created after %s: %w", timeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func readyNodes(ctx context.Context, cs kubernetes.Interface) (int, error) {
	// ResourceVersion "0" is served from the API server's watch cache.
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range nodes.Items {
		for _, c := range nodes.Items[i].Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n, nil
}
