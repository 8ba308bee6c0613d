package burst

import (
	"context"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PodsResult summarises one scale-pods burst.
type PodsResult struct {
	Size, Rep          int
	P50, P90, P99, Max time.Duration
}

// ScalePods runs the scale-pods burst (one Deployment, 0 → size) reps times
// per size, each in a fresh namespace that is deleted afterwards, and prints
// a line per burst to log.
func ScalePods(ctx context.Context, cs kubernetes.Interface, sizes []int, reps int, log io.Writer) ([]PodsResult, error) {
	for _, s := range sizes {
		if s <= 0 {
			return nil, fmt.Errorf("burst size %d: must be positive", s)
		}
	}
	if reps <= 0 {
		return nil, fmt.Errorf("--reps %d: must be positive", reps)
	}
	var out []PodsResult
	for _, size := range sizes {
		for rep := 1; rep <= reps; rep++ {
			ns := fmt.Sprintf("kdbench-scale-pods-%d-r%d", size, rep)
			r, err := onePodsBurst(ctx, cs, ns, size, log)
			cerr := deleteNamespace(ctx, cs, ns)
			if err != nil {
				return out, fmt.Errorf("scale-pods size %d rep %d: %w", size, rep, err)
			}
			if cerr != nil {
				return out, cerr
			}
			r.Size, r.Rep = size, rep
			out = append(out, r)
			fmt.Fprintf(log, "scale-pods size=%d rep=%d: p50 %s p90 %s p99 %s max %s\n", size, rep,
				r.P50.Round(time.Millisecond), r.P90.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond))
		}
	}
	return out, nil
}

func onePodsBurst(ctx context.Context, cs kubernetes.Interface, ns string, size int, log io.Writer) (PodsResult, error) {
	fns := []string{"fn-0"}
	if err := Prepare(ctx, cs, ns, fns); err != nil {
		return PodsResult{}, err
	}
	last := time.Now()
	res, err := Scale(ctx, cs, ns, fns, int32(size), func(ready, want int) {
		if time.Since(last) > 2*time.Second || ready == want {
			last = time.Now()
			fmt.Fprintf(log, "  %d/%d pods Ready\n", ready, want)
		}
	})
	if err != nil {
		return PodsResult{}, err
	}
	lat := res.Latencies()
	return PodsResult{P50: Percentile(lat, 0.5), P90: Percentile(lat, 0.9), P99: Percentile(lat, 0.99), Max: lat[len(lat)-1]}, nil
}

// deleteNamespace deletes ns and waits (bounded) until it is gone, so the
// next burst does not compete with this one's pod deletions.
func deleteNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting namespace %s: %w", ns, err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("namespace %s still terminating after 3m", ns)
}
