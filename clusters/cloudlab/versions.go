package cloudlab

// Pinned versions of everything the bootstrap installs, checked against the
// Kubedirect artifact (github.com/TomQuartz/kubedirect-ae, scripts/ and
// manifests/): Kubernetes 1.32.0 from pkgs.k8s.io (its 1.32.0-1.1 packages),
// Flannel v0.25.5 with the v1.5.1 CNI plugin its manifest names, the pause
// image 3.10. Where kdbench differs: the control plane runs upstream
// v1.32.0 images (the artifact ran its own "v1.32.0-kubedirect" builds
// from its image repository, and pinned etcd 3.5.12-0 and CoreDNS v1.11.1
// only because that repository is not registry.k8s.io; kubeadm v1.32.0's
// own etcd and CoreDNS are used here), and containerd is Ubuntu's package
// rather than Docker's containerd.io (the artifact also installed
// docker-ce, which nothing of kdbench uses). Knative Serving and Kourier
// (v1.15.0, the artifact's) are installed only when a system of the cluster
// runs on Knative (knative.go). The artifact's other add-ons, which no
// kdbench system uses, are not installed: KWOK (scale-nodes needs nodes the
// cloudlab provider cannot create), kube-prometheus and metrics-server
// (collectors scrape components directly), and Dirigent's own binaries
// (dirigent is kdbench's implementation, baselines/dirigent).
// Changing a version here changes every new cluster and is recorded in its
// manifest.
const (
	KubernetesVersion = "v1.32.0"
	// kubePackageVersion is the Debian revision pkgs.k8s.io gives v1.32.0.
	kubePackageVersion = "1.32.0-1.1"
	kubeAptRepo        = "https://pkgs.k8s.io/core:/stable:/v1.32/deb/"

	FlannelVersion = "v0.25.5"
	// flannelIfaceRegex binds Flannel to the experiment LAN (10.10.1.0/24),
	// as the artifact's flannel.large.yaml does, not to the control network
	// that holds the default route.
	flannelIfaceRegex = `10\.10\.*\.*`
	// pauseImage is kubeadm v1.32's sandbox image (the artifact's pause
	// 3.10 too); Ubuntu's containerd defaults to 3.8.
	pauseImage = "registry.k8s.io/pause:3.10"
	// workloadImage is pre-pulled on every worker: the workload's pods
	// (workloads/burst.Image) then start without a pull, as the artifact's
	// (pull policy Never after a pre-pull) did.
	workloadImage = "docker.io/library/alpine:3.20"

	// Cluster networks: the experiment LAN is 10.10.1.0/24; pods get a /11
	// as the artifact's large runs did, services keep kubeadm's default.
	podSubnet     = "10.64.0.0/11"
	serviceSubnet = "10.96.0.0/12"
)

// Versions lists the pinned components for a cluster's manifest.
func Versions() map[string]string {
	return map[string]string{
		"kubernetes":     KubernetesVersion,
		"flannel":        FlannelVersion,
		"pause":          pauseImage,
		"workload-image": workloadImage,
	}
}
