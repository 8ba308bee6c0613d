package cloudlab

import (
	"strings"
	"time"
)

// The bootstrap's steps, as data. Each check is cheap and exits 0 only when
// its step's effect is in place, so a re-run sends checks and nothing else.

const apt = "DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300"

func prepareSteps(binary, binSum string) []Step {
	return []Step{{
		Name: "os-prep", Phase: PhasePrepare, Roles: allRoles, Timeout: 10 * time.Minute, Retries: 2,
		Check: `test -z "$(swapon --show --noheadings)" && grep -q '^br_netfilter ' /proc/modules &&
test "$(sysctl -n net.ipv4.ip_forward)" = 1 && test -f /etc/sysctl.d/99-kdbench.conf && type -P git jq curl >/dev/null`,
		Apply: `swapoff -a
sed -ri '/\sswap\s/s/^#?/#/' /etc/fstab
printf 'overlay\nbr_netfilter\n' > /etc/modules-load.d/kdbench.conf
modprobe overlay
modprobe br_netfilter
printf '%s = %s\n' net.bridge.bridge-nf-call-iptables 1 net.bridge.bridge-nf-call-ip6tables 1 net.ipv4.ip_forward 1 \
  fs.inotify.max_user_instances 8192 fs.inotify.max_user_watches 1048576 > /etc/sysctl.d/99-kdbench.conf
sysctl --system >/dev/null
` + apt + ` update
` + apt + ` install -y apt-transport-https ca-certificates curl gpg git jq`,
	}, {
		// As the artifact's install.sh: no ulimits on containerd, and
		// containers without the default rlimits (its CRI base spec
		// without .process.rlimits), so that many pods per node never run
		// out of files or processes.
		Name: "containerd", Phase: PhasePrepare, Roles: allRoles, Timeout: 10 * time.Minute, Retries: 2,
		Check: `systemctl is-active -q containerd && grep -q 'SystemdCgroup = true' /etc/containerd/config.toml &&
grep -q 'sandbox_image = "` + pauseImage + `"' /etc/containerd/config.toml &&
grep -q 'base_runtime_spec = "` + criBaseSpec + `"' /etc/containerd/config.toml && test -s ` + criBaseSpec + ` &&
test "$(systemctl show containerd -p LimitNOFILE --value)" = infinity`,
		Apply: apt + ` install -y containerd
mkdir -p /etc/containerd /etc/systemd/system/containerd.service.d
printf '[Service]\nLimitNPROC=infinity\nLimitCORE=infinity\nLimitNOFILE=infinity\n' > /etc/systemd/system/containerd.service.d/kdbench.conf
ctr oci spec | jq 'del(.process.rlimits)' > ` + criBaseSpec + `
containerd config default | sed -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
  -e 's#sandbox_image = ".*"#sandbox_image = "` + pauseImage + `"#' \
  -e 's#base_runtime_spec = ""#base_runtime_spec = "` + criBaseSpec + `"#' > /etc/containerd/config.toml
systemctl daemon-reload
systemctl enable containerd
systemctl restart containerd`,
	}, {
		Name: "kube-packages", Phase: PhasePrepare, Roles: allRoles, Timeout: 10 * time.Minute, Retries: 2,
		Check: `for p in kubeadm kubelet kubectl; do test "$(dpkg-query -W -f='${Version}' $p 2>/dev/null)" = ` + kubePackageVersion + `; done`,
		Apply: `mkdir -p -m 755 /etc/apt/keyrings
curl -fsSL ` + kubeAptRepo + `Release.key | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ` + kubeAptRepo + ` /' > /etc/apt/sources.list.d/kubernetes.list
` + apt + ` update
` + apt + ` install -y --allow-downgrades --allow-change-held-packages kubelet=` + kubePackageVersion + ` kubeadm=` + kubePackageVersion + ` kubectl=` + kubePackageVersion + `
apt-mark hold kubelet kubeadm kubectl
systemctl enable kubelet`,
	}, {
		// Kubernetes must use the experiment LAN, not the control network
		// that holds the default route.
		Name: "kubelet-node-ip", Phase: PhasePrepare, Roles: allRoles, Timeout: time.Minute,
		Check: `grep -qx "KUBELET_EXTRA_ARGS=--node-ip=$NODE_IP" /etc/default/kubelet`,
		Apply: `echo "KUBELET_EXTRA_ARGS=--node-ip=$NODE_IP" > /etc/default/kubelet`,
	}, {
		// The binary (~100 MB) crosses the user's uplink once, to the control
		// plane, which serves it to the workers on the LAN (kdbench-fetch).
		Name: "kdbench-binary", Phase: PhasePrepare, Roles: cpOnly, Timeout: 15 * time.Minute, Retries: 2,
		Upload: &Upload{Local: binary, SHA256: binSum},
		Check:  `printf '%s  %s\n' ` + binSum + ` /usr/local/bin/kdbench ` + binSum + ` ` + distDir + `/kdbench | sha256sum -c --status`,
		Apply: `mkdir -p ` + distDir + `
cat > ` + distDir + `/.kdbench.tmp
chmod 755 ` + distDir + `/.kdbench.tmp
mv -f ` + distDir + `/.kdbench.tmp ` + distDir + `/kdbench
install -m 755 ` + distDir + `/kdbench /usr/local/bin/kdbench`,
	}}
}

// criBaseSpec is containerd's OCI spec for CRI containers, without rlimits.
const criBaseSpec = "/etc/containerd/cri-base.json"

// kubectl runs as root on the control plane with the admin kubeconfig.
const kubectl = "kubectl --kubeconfig /etc/kubernetes/admin.conf"

// distDir on the control plane holds what it serves to the workers.
const (
	distDir  = "/opt/kdbench/dist"
	distPort = "8099"
)

func controlPlaneSteps(kubeadmYAML, schedYAML []byte) []Step {
	const configSums = kdbenchEtcDir + "/config.sha256"
	schedPath := schedulerConfigPath(schedYAML)
	sums := "printf '%s  %s\\n' " + sum(kubeadmYAML) + " " + kubeadmConfigPath + " " + sum(schedYAML) + " " + schedPath
	return []Step{{
		// Serves distDir on the experiment LAN only, until cluster down.
		Name: "kdbench-serve", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute, Retries: 1,
		Check: `systemctl is-active -q kdbench-files`,
		Apply: `systemctl reset-failed kdbench-files 2>/dev/null || true
systemd-run --unit kdbench-files --description "kdbench files for the workers" \
  python3 -m http.server ` + distPort + ` --bind "$NODE_IP" --directory ` + distDir + `
sleep 1`,
	}, {
		Name: "kubeadm-config", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute,
		// config.sha256 lists the files this plan wants and their sums.
		Check: sums + " | cmp -s - " + configSums + " && sha256sum -c --status " + configSums,
		Apply: "mkdir -p " + kdbenchEtcDir + "\n" +
			heredoc(kubeadmConfigPath, kubeadmYAML) + "\n" + heredoc(schedPath, schedYAML) + "\n" +
			sums + " > " + configSums,
	}, {
		// A failed init leaves a half-made control plane: reset before
		// trying again. kubeadm makes a random token of its own, which
		// nothing could redact: --skip-token-print keeps it out of the logs,
		// and it is deleted by ID (join-token makes kdbench's).
		Name: "kubeadm-init", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: 10 * time.Minute, Retries: 1,
		Check: `test -f /etc/kubernetes/admin.conf && ` + kubectl + ` get --raw=/readyz --request-timeout=10s >/dev/null`,
		Apply: `kubeadm reset -f >/dev/null 2>&1 || true
kubeadm init --config ` + kubeadmConfigPath + ` --skip-token-print
kubeadm token list 2>/dev/null | awk 'NR > 1 {split($1, t, "."); print t[1]}' | xargs -r -n1 kubeadm token delete >/dev/null
cp ` + configSums + ` ` + appliedPath,
	}, {
		// Another QPS profile on a running cluster: regenerate the control
		// plane's static pods (kubelet restarts them) instead of a new
		// cluster, which the joined workers would not be part of.
		Name: "control-plane-flags", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: 5 * time.Minute, Retries: 1,
		Check: `cmp -s ` + configSums + ` ` + appliedPath,
		Apply: `kubeadm init phase etcd local --config ` + kubeadmConfigPath + `
kubeadm init phase control-plane all --config ` + kubeadmConfigPath + `
sleep 10
until ` + kubectl + ` get --raw=/readyz --request-timeout=5s >/dev/null 2>&1; do sleep 2; done
cp ` + configSums + ` ` + appliedPath,
	}, {
		Name: "cni-flannel", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: 5 * time.Minute, Retries: 3,
		Check: kubectl + ` -n kube-flannel get daemonset kube-flannel-ds -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -qF -- '--iface-regex=` + flannelIfaceRegex + `'`,
		Apply: `curl -fsSL https://github.com/flannel-io/flannel/releases/download/` + FlannelVersion + `/kube-flannel.yml |
  sed ` + flannelSed + ` | ` + kubectl + ` apply -f -
` + kubectl + ` -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout=4m`,
	}, {
		// kdbench chooses the join token and keeps it in the cluster work
		// dir, so that a resumed run, even a day later, joins with it.
		Name: "join-token", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute, Retries: 2,
		Secrets: []string{envJoinToken},
		Check:   `kubeadm token list 2>/dev/null | awk 'NR > 1 {print $1}' | grep -x "$` + envJoinToken + `" >/dev/null`,
		Apply:   `kubeadm token create "$` + envJoinToken + `" --ttl 24h >/dev/null`,
	}, {
		Name: "ca-cert-hash", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute, Export: envCACertHash,
		Apply: `openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1`,
	}, {
		// The admin kubeconfig comes back with the node's public name, which
		// kubeadm-config put in the API server's certificate.
		Name: "kubeconfig", Phase: PhaseControlPlane, Roles: cpOnly, Timeout: time.Minute, Fetch: "kubeconfig",
		Apply: `sed "s#server: https://.*#server: https://$CP_HOST:6443#" /etc/kubernetes/admin.conf`,
	}}
}

func joinSteps(binSum string) []Step {
	return []Step{{
		Name: "kubeadm-join", Phase: PhaseJoin, Roles: workers, Timeout: 5 * time.Minute, Retries: 3,
		Secrets: []string{envJoinToken},
		Check:   `test -f /etc/kubernetes/kubelet.conf && systemctl is-active -q kubelet`,
		Apply: `kubeadm reset -f >/dev/null 2>&1 || true
kubeadm join "$CP_IP:6443" --node-name "$NODE_NAME" --token "$` + envJoinToken + `" --discovery-token-ca-cert-hash "sha256:$` + envCACertHash + `"`,
	}, {
		// Plain k8s runs real containers: their image is pulled before any
		// burst, so that none is timed waiting for a registry.
		Name: "workload-image", Phase: PhaseJoin, Roles: workers, Timeout: 5 * time.Minute, Retries: 3,
		Check: `ctr -n k8s.io images ls -q | grep -qxF ` + workloadImage,
		Apply: `ctr -n k8s.io images pull -q ` + workloadImage + ` >/dev/null`,
	}, {
		Name: "kdbench-fetch", Phase: PhaseJoin, Roles: workers, Timeout: 5 * time.Minute, Retries: 3,
		Check: `echo "` + binSum + `  /usr/local/bin/kdbench" | sha256sum -c --status`,
		Apply: `curl -fsS "http://$CP_IP:` + distPort + `/kdbench" -o /usr/local/bin/.kdbench.tmp
echo "` + binSum + `  /usr/local/bin/.kdbench.tmp" | sha256sum -c --status
chmod 755 /usr/local/bin/.kdbench.tmp
mv -f /usr/local/bin/.kdbench.tmp /usr/local/bin/kdbench`,
	}}
}

const nodesReady = `test "$(` + kubectl + ` get nodes --no-headers | awk '$2 == "Ready"' | wc -l)" -ge "$` + envNodesExpected + `"`

// addonSteps waits for the nodes; no add-on is installed that no system
// uses (versions.go says which of the artifact's are left out, and why).
func addonSteps() []Step {
	return []Step{{
		// $KDB_NODES_EXPECTED leaves out nodes that failed earlier in this
		// run, so that one bad worker does not hold back the end of the run.
		Name: "nodes-ready", Phase: PhaseAddons, Roles: cpOnly, Timeout: 15 * time.Minute,
		Check: nodesReady,
		Apply: `until ` + nodesReady + `; do sleep 5; done`,
	}}
}

// flannelSed edits Flannel's release manifest: kdbench's pod network, and
// the daemon bound to the experiment LAN (an argument after
// --kube-subnet-mgr, at its indentation).
var flannelSed = `-e 's#10.244.0.0/16#` + podSubnet + `#' -e 's#^\( *\)- --kube-subnet-mgr$#&\n\1- --iface-regex=` +
	strings.ReplaceAll(flannelIfaceRegex, `\`, `\\`) + `#'`
