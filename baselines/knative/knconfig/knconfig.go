// Package knconfig holds the Kubedirect artifact's Knative Serving settings
// (github.com/TomQuartz/kubedirect-ae, manifests/knative/config-patch.yaml),
// in one place for the local Serving kdbench runs and the CloudLab bootstrap.
package knconfig

// Autoscaler is the artifact's config-autoscaler (config-patch.yaml):
// the KPA, one request per pod, the activator always in the path
// (target-burst-capacity -1), 60 s stable window, scale to zero after 15 min.
var Autoscaler = map[string]string{
	"pod-autoscaler-class":                    "kpa.autoscaling.knative.dev",
	"container-concurrency-target-default":    "1",
	"container-concurrency-target-percentage": "100",
	"target-burst-capacity":                   "-1",
	"max-scale-up-rate":                       "1000.0",
	"max-scale-down-rate":                     "2.0",
	"scale-down-delay":                        "60s",
	"min-scale":                               "0",
	"max-scale":                               "0",
	"max-scale-limit":                         "0",
	"allow-zero-initial-scale":                "true",
	"initial-scale":                           "0",
	"stable-window":                           "60s",
	"panic-window-percentage":                 "10.0",
	"panic-threshold-percentage":              "200.0",
	"enable-scale-to-zero":                    "true",
	"scale-to-zero-grace-period":              "15m",
	"scale-to-zero-pod-retention-period":      "5m",
}

// Features lets Knative Services carry the pod placement the
// workloads give Deployments (config-patch.yaml's config-features).
var Features = map[string]string{
	"kubernetes.podspec-affinity":     "enabled",
	"kubernetes.podspec-nodeselector": "enabled",
	"kubernetes.podspec-tolerations":  "enabled",
}

// FunctionImage is the function the artifact's Knative Services run on
// real kubelets (experiments/trace/run.sh: IMAGE, tag dev;
// config/kd.ksvc.template.yaml): the vHive loader's gRPC trace function
// (FUNCTION_TYPE=trace) on h2c port 80. The CloudLab bootstrap pulls it on
// every worker, as the template's comment asks.
const FunctionImage = "docker.io/shengqipku/kubedirect-bench:dev"

// FunctionEnv is the template's environment for it: the busy loop's
// iterations per millisecond (Dirigent's AE calibration, 155) and the
// trace function.
var FunctionEnv = map[string]string{"ITERATIONS_MULTIPLIER": "155", "FUNCTION_TYPE": "trace"}
