package burst

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// autoscalingScale is a scale-subresource request, the path the artifact's
// autoscaler (and kubectl scale) uses.
type autoscalingScale struct {
	namespace, name string
	replicas        int32
}

func (s autoscalingScale) obj() *autoscalingv1.Scale {
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: s.replicas},
	}
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
