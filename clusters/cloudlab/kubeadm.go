package cloudlab

import (
	"bytes"
	"fmt"
	"sort"
	"text/template"

	"github.com/kdbench/kdbench/clusters/local"
)

// The artifact's kubelet and kube-proxy client limits (EXPERIMENTS.md,
// "Cluster settings the artifact used"); the QPS profile covers the rest.
// Its kubelets also pull images in parallel (serializeImagePulls: false).
const (
	kubeletQPS, kubeletBurst     = 200, 400
	kubeProxyQPS, kubeProxyBurst = 200, 400
	// kube-proxy programs a Service's new endpoints within 50 ms (the
	// artifact's init.large.yaml; upstream waits 1 s), resyncing every 5 min.
	kubeProxyMinSync, kubeProxySync = "50ms", "5m"
)

// kubeadmConfig renders the kubeadm v1beta4 configuration of the control
// plane: the QPS profile's flags (shared with the local provider, so both
// providers tune the same knobs) plus the node's addresses. schedConfig is
// the path of the scheduler's configuration file.
func kubeadmConfig(prof local.Profile, cp Node, schedConfig string) ([]byte, error) {
	etcd := map[string]string{"quota-backend-bytes": fmt.Sprint(prof.EtcdQuotaBytes)}
	if prof.EtcdCompactionPeriod != "" {
		etcd["auto-compaction-mode"] = "periodic"
		etcd["auto-compaction-retention"] = prof.EtcdCompactionPeriod
	}
	var b bytes.Buffer
	err := kubeadmTmpl.Execute(&b, map[string]any{
		"CP": cp, "Version": KubernetesVersion, "PodSubnet": podSubnet, "ServiceSubnet": serviceSubnet,
		"APIServer":         args(prof.APIServer),
		"ControllerManager": args(prof.ControllerManager),
		"Etcd":              args(etcd),
		"SchedulerConfig":   schedConfig,
		"KubeletQPS":        kubeletQPS, "KubeletBurst": kubeletBurst,
		"ProxyQPS": kubeProxyQPS, "ProxyBurst": kubeProxyBurst, "ProxyMinSync": kubeProxyMinSync, "ProxySync": kubeProxySync,
	})
	return b.Bytes(), err
}

// schedulerConfig renders the KubeSchedulerConfiguration kubeadm mounts into
// the scheduler's static pod: kubeadm has no fields for its QPS or
// parallelism.
func schedulerConfig(prof local.Profile) ([]byte, error) {
	var b bytes.Buffer
	err := schedulerTmpl.Execute(&b, prof)
	return b.Bytes(), err
}

const (
	kdbenchEtcDir     = "/etc/kubernetes/kdbench"
	kubeadmConfigPath = kdbenchEtcDir + "/kubeadm.yaml"
	// appliedPath holds the sha256 sums of the configuration the running
	// control plane was made from.
	appliedPath = kdbenchEtcDir + "/applied.sha256"
)

// schedulerConfigPath names the scheduler's file by its content, so that a
// new profile changes the scheduler's flags and kubelet restarts it (the
// scheduler reads the file only at start).
func schedulerConfigPath(data []byte) string {
	return kdbenchEtcDir + "/scheduler-" + sum(data)[:12] + ".yaml"
}

type arg struct{ Name, Value string }

func args(m map[string]string) []arg {
	out := make([]arg, 0, len(m))
	for k, v := range m {
		out = append(out, arg{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var kubeadmTmpl = template.Must(template.New("kubeadm").Parse(`apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {{.CP.IP}}
  bindPort: 6443
nodeRegistration:
  name: {{.CP.Name}}
  imagePullSerial: false
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: kdbench
kubernetesVersion: {{.Version}}
controlPlaneEndpoint: {{.CP.IP}}:6443
networking:
  podSubnet: {{.PodSubnet}}
  serviceSubnet: {{.ServiceSubnet}}
apiServer:
  certSANs: [{{.CP.Host}}, {{.CP.IP}}]
  extraArgs:{{range .APIServer}}
  - {name: {{.Name}}, value: "{{.Value}}"}{{else}} []{{end}}
controllerManager:
  extraArgs:{{range .ControllerManager}}
  - {name: {{.Name}}, value: "{{.Value}}"}{{else}} []{{end}}
scheduler:
  extraArgs:
  - {name: config, value: {{.SchedulerConfig}}}
  extraVolumes:
  - {name: kdbench, hostPath: ` + kdbenchEtcDir + `, mountPath: ` + kdbenchEtcDir + `, readOnly: true, pathType: Directory}
etcd:
  local:
    extraArgs:{{range .Etcd}}
    - {name: {{.Name}}, value: "{{.Value}}"}{{end}}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
kubeAPIQPS: {{.KubeletQPS}}
kubeAPIBurst: {{.KubeletBurst}}
serializeImagePulls: false
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  qps: {{.ProxyQPS}}
  burst: {{.ProxyBurst}}
iptables:
  minSyncPeriod: {{.ProxyMinSync}}
  syncPeriod: {{.ProxySync}}
`))

var schedulerTmpl = template.Must(template.New("scheduler").Parse(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /etc/kubernetes/scheduler.conf
  qps: {{.SchedulerQPS}}
  burst: {{.SchedulerBurst}}
parallelism: {{.SchedulerParallelism}}
{{- if .PercentageOfNodesToScore}}
percentageOfNodesToScore: {{.PercentageOfNodesToScore}}
{{- end}}
`))
