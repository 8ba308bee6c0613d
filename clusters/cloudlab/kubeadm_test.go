package cloudlab

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	schedv1 "k8s.io/kube-scheduler/config/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	kubeadmv1beta4 "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	"sigs.k8s.io/yaml"

	"github.com/kdbench/kdbench/clusters/local"
)

// TestKubeadmConfigDecodesStrictly decodes every document into kubeadm's,
// the kubelet's and the scheduler's own types, refusing unknown fields, so a
// misspelt field fails here and not on the first CloudLab run.
func TestKubeadmConfigDecodesStrictly(t *testing.T) {
	cp := Node{Name: "cp", Role: RoleControlPlane, Host: "hp101.utah.cloudlab.us", Port: 22, IP: "10.10.1.1"}
	for _, name := range local.ProfileNames() {
		t.Run(name, func(t *testing.T) {
			prof := local.Profiles[name]
			sched, err := schedulerConfig(prof)
			require.NoError(t, err)
			schedPath := schedulerConfigPath(sched)
			data, err := kubeadmConfig(prof, cp, schedPath)
			require.NoError(t, err)
			kinds := map[string]bool{}
			for _, doc := range strings.Split(string(data), "\n---\n") {
				var meta struct{ APIVersion, Kind string }
				require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
				kinds[meta.Kind] = true
				switch meta.Kind {
				case "InitConfiguration":
					var c kubeadmv1beta4.InitConfiguration
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &c))
					require.Equal(t, "10.10.1.1", c.LocalAPIEndpoint.AdvertiseAddress)
					require.Equal(t, "cp", c.NodeRegistration.Name)
				case "ClusterConfiguration":
					var c kubeadmv1beta4.ClusterConfiguration
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &c))
					require.Equal(t, KubernetesVersion, c.KubernetesVersion)
					require.Equal(t, podSubnet, c.Networking.PodSubnet)
					require.Contains(t, c.APIServer.CertSANs, cp.Host)
					require.Equal(t, prof.APIServer, argMap(c.APIServer.ExtraArgs))
					require.Equal(t, prof.ControllerManager, argMap(c.ControllerManager.ExtraArgs))
					require.Equal(t, map[string]string{"config": schedPath}, argMap(c.Scheduler.ExtraArgs))
					require.Equal(t, kdbenchEtcDir, c.Scheduler.ExtraVolumes[0].HostPath)
					require.NotNil(t, c.Etcd.Local)
					etcd := argMap(c.Etcd.Local.ExtraArgs)
					require.Equal(t, strconv.FormatInt(prof.EtcdQuotaBytes, 10), etcd["quota-backend-bytes"])
					require.Equal(t, prof.EtcdCompactionPeriod, etcd["auto-compaction-retention"])
				case "KubeletConfiguration":
					var c kubeletv1beta1.KubeletConfiguration
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &c))
					require.Equal(t, int32(kubeletQPS), *c.KubeAPIQPS)
					require.Equal(t, int32(kubeletBurst), c.KubeAPIBurst)
					require.Equal(t, "systemd", c.CgroupDriver)
					// The artifact's kubelets pull images in parallel.
					require.NotNil(t, c.SerializeImagePulls)
					require.False(t, *c.SerializeImagePulls)
				case "KubeProxyConfiguration":
					// k8s.io/kube-proxy is not in the module graph; check the shape.
					var c struct {
						APIVersion, Kind string
						ClientConnection struct{ QPS, Burst int } `json:"clientConnection"`
						IPTables         struct {
							MinSyncPeriod string `json:"minSyncPeriod"`
							SyncPeriod    string `json:"syncPeriod"`
						} `json:"iptables"`
					}
					require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &c))
					require.Equal(t, kubeProxyQPS, c.ClientConnection.QPS)
					require.Equal(t, kubeProxyBurst, c.ClientConnection.Burst)
					// The artifact's init.large.yaml.
					require.Equal(t, "50ms", c.IPTables.MinSyncPeriod)
					require.Equal(t, "5m", c.IPTables.SyncPeriod)
				default:
					t.Fatalf("unexpected document kind %q", meta.Kind)
				}
			}
			require.Len(t, kinds, 4)

			var sc schedv1.KubeSchedulerConfiguration
			require.NoError(t, yaml.UnmarshalStrict(sched, &sc))
			require.Equal(t, prof.SchedulerQPS, sc.ClientConnection.QPS)
			require.Equal(t, prof.SchedulerBurst, sc.ClientConnection.Burst)
			require.Equal(t, prof.SchedulerParallelism, *sc.Parallelism)
			require.Equal(t, "/etc/kubernetes/scheduler.conf", sc.ClientConnection.Kubeconfig)
			if prof.PercentageOfNodesToScore > 0 {
				require.Equal(t, prof.PercentageOfNodesToScore, *sc.PercentageOfNodesToScore)
			} else {
				require.Nil(t, sc.PercentageOfNodesToScore)
			}
		})
	}
}

func argMap(args []kubeadmv1beta4.Arg) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		m[a.Name] = a.Value
	}
	return m
}
