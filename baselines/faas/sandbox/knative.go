package sandbox

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/networking"
)

// QueueContainerName is the queue-proxy sidecar's name in a revision's pod
// (serving's pkg/reconciler/revision/resources.QueueContainerName; that
// package is not imported for it, as it pulls in knative.dev/caching).
const QueueContainerName = "queue-proxy"

// QueueConfig is what the queue-proxy side of a Knative pod serves, read
// from the pod as Knative's revision reconciler builds it
// (pkg/reconciler/revision/resources: deploy.go, queue.go).
type QueueConfig struct {
	// Revision is the pod's serving.knative.dev/revision label.
	Revision string
	// ServingPort takes requests and the activator's probes
	// (QUEUE_SERVING_PORT, 8012); MetricsPort serves the autoscaler's
	// scrape (networking.AutoscalingQueueMetricsPort, 9090: the port the
	// autoscaler's stats scraper dials); UserPort is the user container's
	// (USER_PORT, else its first container port, else 8080).
	ServingPort, MetricsPort, UserPort int
	// ContainerConcurrency is CONTAINER_CONCURRENCY: the breaker's limit,
	// 0 for none.
	ContainerConcurrency int
}

// KnativeQueue says whether pod is a Knative pod — it carries the
// revision label or a queue-proxy container — and what its queue-proxy
// serves. Missing settings take Knative's defaults.
func KnativeQueue(pod *corev1.Pod) (QueueConfig, bool) {
	cfg := QueueConfig{Revision: pod.Labels[serving.RevisionLabelKey], ServingPort: networking.BackendHTTPPort,
		MetricsPort: networking.AutoscalingQueueMetricsPort, UserPort: servingv1.DefaultUserPort}
	var queue, user *corev1.Container
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if c.Name == QueueContainerName {
			queue = c
		} else if user == nil {
			user = c
		}
	}
	if cfg.Revision == "" && queue == nil {
		return QueueConfig{}, false
	}
	if user != nil && len(user.Ports) > 0 && user.Ports[0].ContainerPort != 0 {
		cfg.UserPort = int(user.Ports[0].ContainerPort)
	}
	if queue != nil {
		for _, e := range queue.Env {
			n, err := strconv.Atoi(e.Value)
			if err != nil || n < 0 {
				continue
			}
			switch e.Name {
			case "QUEUE_SERVING_PORT":
				cfg.ServingPort = n
			case "USER_PORT":
				cfg.UserPort = n
			case "CONTAINER_CONCURRENCY":
				cfg.ContainerConcurrency = n
			}
		}
	}
	return cfg, true
}
