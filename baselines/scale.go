package baselines

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ScaleDeployment writes a Deployment's scale subresource: one API write,
// as the Kubedirect artifact's driver scales every system (kd included) and
// as `kubectl scale` does. Systems whose scale-out starts in the API server
// share it, so every burst's clock starts on the same request.
func ScaleDeployment(ctx context.Context, cs kubernetes.Interface, namespace, name string, replicas int32) error {
	_, err := cs.AppsV1().Deployments(namespace).UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
	}, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("scaling deployment %s/%s to %d: %w", namespace, name, replicas, err)
	}
	return nil
}
