// Package burst drives the paper's scale-out microbenchmarks: Deployments are
// created at zero replicas beforehand, then scaled at once, and each pod's
// Ready time is taken from the client's watch.
package burst

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/collectors/timeline"
)

// FunctionLabel marks every object a burst creates, so one selector finds them.
const FunctionLabel = timeline.FunctionLabel

// Deployment returns the workload Deployment for one function: a sleeping
// container as in the artifact, 0 replicas, grace period 5 s.
// Image is the workload pods' container image (a sleeping alpine, as the
// artifact's): real kubelets must have it already (the CloudLab bootstrap
// pre-pulls it), so that no burst waits for a pull.
const Image = "alpine:3.20"

func Deployment(namespace, name string, replicas int32) *appsv1.Deployment {
	lbl := map[string]string{FunctionLabel: name}
	grace := int64(5)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "fn", Image: Image, Command: []string{"sleep", "infinity"},
						ImagePullPolicy: corev1.PullIfNotPresent,
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: mustQuantity("10m"), corev1.ResourceMemory: mustQuantity("16Mi"),
						}},
					}},
				},
			},
		},
	}
}

// PrepareTimeout bounds the wait for the Deployments' ReplicaSets.
var PrepareTimeout = 2 * time.Minute

// lastWarning returns the namespace's most recent Warning event, which
// usually says why a controller is stuck.
func lastWarning(ctx context.Context, cs kubernetes.Interface, namespace string) string {
	evs, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	e := evs.Items[len(evs.Items)-1]
	return fmt.Sprintf(" (last warning, %s %s: %s)", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
}

// Prepare creates the namespace and the functions' Deployments at zero
// replicas and waits until each has its ReplicaSet, so the measured burst
// starts from a quiet cluster.
// decorate, if not nil, adjusts each Deployment before it is created (a
// system's baselines.DeploymentDecorator).
func Prepare(ctx context.Context, cs kubernetes.Interface, namespace string, functions []string, decorate func(*appsv1.Deployment)) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	for _, fn := range functions {
		d := Deployment(namespace, fn, 0)
		if decorate != nil {
			decorate(d)
		}
		_, err := cs.AppsV1().Deployments(namespace).Create(ctx, d, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating deployment %s/%s: %w", namespace, fn, err)
		}
	}
	deadline := time.After(PrepareTimeout)
	for {
		rss, err := cs.AppsV1().ReplicaSets(namespace).List(ctx, metav1.ListOptions{LabelSelector: FunctionLabel})
		if err != nil {
			return err
		}
		if len(rss.Items) >= len(functions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d ReplicaSets in %s (have %d): %w", len(functions), namespace, len(rss.Items), ctx.Err())
		case <-deadline:
			return fmt.Errorf("the deployment controller created %d of %d ReplicaSets in %s within %s%s",
				len(rss.Items), len(functions), namespace, PrepareTimeout, lastWarning(ctx, cs, namespace))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Percentile returns the artifact's percentile: sorted values at index ⌊p·n⌋.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
