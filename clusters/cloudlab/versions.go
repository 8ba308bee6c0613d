package cloudlab

// Pinned versions of everything the bootstrap installs. The paper's testbed
// ran Kubernetes v1.32.0 and Knative v1.15.0 with Kourier; the rest are the
// releases current with them. Changing one here changes every new cluster and
// is recorded in its manifest.
const (
	KubernetesVersion = "v1.32.0"
	// kubePackageVersion is the Debian revision pkgs.k8s.io gives v1.32.0.
	kubePackageVersion = "1.32.0-1.1"
	kubeAptRepo        = "https://pkgs.k8s.io/core:/stable:/v1.32/deb/"

	FlannelVersion        = "v0.26.1"
	KubePrometheusVersion = "v0.14.0"
	KWOKVersion           = "v0.6.1"
	KnativeVersion        = "v1.15.0"

	// DirigentCommit is eth-easl/dirigent's main as of August 2025.
	DirigentCommit = "44c9e88a3c77902c35e70359b61a4c7daf65bc4b"
	DirigentRepo   = "https://github.com/eth-easl/dirigent.git"
	// goVersion builds Dirigent (its go.mod asks for 1.20) on the nodes.
	goVersion = "1.22.12"

	// Cluster networks: the experiment LAN is 10.10.1.0/24; pods get a /11
	// as the artifact's large runs did, services keep kubeadm's default.
	podSubnet     = "10.64.0.0/11"
	serviceSubnet = "10.96.0.0/12"
)

// Versions lists the pinned components for a cluster's manifest.
func Versions() map[string]string {
	return map[string]string{
		"kubernetes":      KubernetesVersion,
		"flannel":         FlannelVersion,
		"kube-prometheus": KubePrometheusVersion,
		"kwok":            KWOKVersion,
		"knative-serving": KnativeVersion,
		"net-kourier":     KnativeVersion,
		"dirigent":        DirigentCommit,
	}
}
