package local

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// HostPlan lays out this cluster's components for the hosts of a real
// network: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// on one control-plane host, listening on its address, and one node agent
// per worker host serving its share of the simulated nodes. The components
// and flags are the ones Up starts on this machine; only the address, the
// ports (fixed, as on a kubeadm cluster) and the paths differ.
type HostPlan struct {
	Name string
	// Root is the cluster's directory on every host (files, logs, data).
	Root string
	// BinDir holds kube-apiserver, kube-controller-manager and
	// kube-scheduler on the control-plane host; Self is kdbench on every host.
	BinDir, Self string
	// ControlPlane is the control-plane host's address; Workers the worker
	// hosts' addresses, in order (worker i serves share i of Nodes).
	ControlPlane string
	Workers      []string
	Nodes        int
	QPSProfile   string
	SandboxDelay time.Duration
}

// Process is one component as a host runs it.
type Process struct {
	Name string
	Path string
	Args []string
	Log  string
	// HealthURL answers 200 once the component serves; HealthAuth says how
	// to call it: "" plain HTTP(S), "insecure" (self-signed serving
	// certificate), "admin" (the cluster CA and the admin client
	// certificate, files under PKI()).
	HealthURL, HealthAuth string
}

// hostPorts are the control plane's well-known ports.
var hostPorts = ports{EtcdClient: 2379, EtcdPeer: 2380, APIServer: 6443, KCM: 10257, Scheduler: 10259, NodeAgentMetrics: 10250}

// maxHostAgents bounds the workers: each gets a /17 of the pod CIDR and a
// /20 of the node IP range.
const maxHostAgents = 256

func (h HostPlan) plan(host string) (*plan, error) {
	prof, err := lookupProfile(h.QPSProfile)
	if err != nil {
		return nil, err
	}
	if net.ParseIP(h.ControlPlane).To4() == nil {
		return nil, fmt.Errorf("control-plane address %q is not IPv4", h.ControlPlane)
	}
	if len(h.Workers) == 0 || len(h.Workers) > maxHostAgents {
		return nil, fmt.Errorf("%d worker hosts, want 1 to %d", len(h.Workers), maxHostAgents)
	}
	// Each agent's /17 of pod addresses holds 128 nodes' /24s.
	if h.Nodes < len(h.Workers) || h.Nodes > 128*len(h.Workers) {
		return nil, fmt.Errorf("%d simulated nodes on %d worker hosts: want 1 to 128 per worker host", h.Nodes, len(h.Workers))
	}
	return &plan{name: h.Name, l: layout{root: h.Root}, p: hostPorts, prof: prof, binDir: h.BinDir,
		self: h.Self, nodes: h.Nodes, delay: h.SandboxDelay, host: host}, nil
}

// PKI is the certificates' directory on the hosts.
func (h HostPlan) PKI() string { return layout{root: h.Root}.PKI() }

// APIServerURL is where the API server listens.
func (h HostPlan) APIServerURL() string {
	return "https://" + net.JoinHostPort(h.ControlPlane, strconv.Itoa(hostPorts.APIServer))
}

func process(c component, auth string) Process {
	return Process{Name: c.Name, Path: c.Path, Args: c.Args, Log: c.Log, HealthURL: c.URL, HealthAuth: auth}
}

// ControlPlaneProcesses are the control-plane host's components in start
// order: etcd, kube-apiserver, then (once the node agents' role binding is
// in place: GrantNodeAgent) kube-controller-manager and kube-scheduler.
func (h HostPlan) ControlPlaneProcesses() ([]Process, error) {
	pl, err := h.plan(h.ControlPlane)
	if err != nil {
		return nil, err
	}
	return []Process{
		process(pl.etcd(), ""), process(pl.apiserver(), "admin"),
		process(pl.controllerManager(), "insecure"), process(pl.scheduler(), "insecure"),
	}, nil
}

// NodeAgentProcess is worker i's node agent: its share of the nodes, named
// after the host (<host>-0, ...), with pod and node addresses from ranges
// of its own so that no two agents hand out the same.
func (h HostPlan) NodeAgentProcess(i int, hostName string) (Process, error) {
	if i < 0 || i >= len(h.Workers) {
		return Process{}, fmt.Errorf("worker %d of %d", i, len(h.Workers))
	}
	pl, err := h.plan(h.Workers[i])
	if err != nil {
		return Process{}, err
	}
	share := h.Nodes / len(h.Workers)
	if i < h.Nodes%len(h.Workers) {
		share++
	}
	pl.nodes = share
	c := pl.nodeAgent()
	pod := net.IPv4(10, byte(128+i/2), byte(i%2*128), 0)      // a /17 of 10.128.0.0/9
	nodeIPs := net.IPv4(172, byte(16+i/16), byte(i%16*16), 0) // a /20 of 172.16.0.0/12
	for j, a := range c.Args {
		if a == "--pod-cidr="+podCIDR {
			c.Args[j] = "--pod-cidr=" + pod.String() + "/17"
		}
	}
	c.Args = append(c.Args, "--node-name-prefix="+hostName+"-", "--node-ip-range="+nodeIPs.String()+"/20")
	return process(c, ""), nil
}

// WriteFiles writes what the hosts need under dir, laid out as under Root:
// the PKI (the API server's certificate also for the control-plane
// address), a kubeconfig per component reaching the API server at its
// address, and the scheduler's configuration. It also writes the admin
// kubeconfig to adminKubeconfig, for the harness.
func (h HostPlan) WriteFiles(dir, adminKubeconfig string) error {
	pl, err := h.plan(h.ControlPlane)
	if err != nil {
		return err
	}
	local := layout{root: dir}
	if err := local.mkdirs(); err != nil {
		return err
	}
	if err := writePKI(local.PKI(), net.ParseIP(h.ControlPlane)); err != nil {
		return fmt.Errorf("writing certificates: %w", err)
	}
	for _, id := range clientIdentities {
		paths := []string{local.ComponentKubeconfig(id.file)}
		if id.file == "admin" {
			paths = append(paths, adminKubeconfig)
		}
		for _, path := range paths {
			if err := writeKubeconfig(local, path, h.Name, h.APIServerURL(), id.file); err != nil {
				return fmt.Errorf("writing kubeconfig for %s: %w", id.user, err)
			}
		}
	}
	// The scheduler's configuration names its kubeconfig on the host.
	return writeFileAtomic(local.Config("kube-scheduler.yaml"), pl.schedulerConfig(), 0o644)
}

// GrantNodeAgent gives the node agents' user the upstream system:node role
// (kdbench internal grant-node-agent runs it on the control-plane host).
func GrantNodeAgent(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return bindNodeAgent(ctx, cs)
}

// AdminKubeconfigOnHosts is the admin kubeconfig's path on the hosts.
func (h HostPlan) AdminKubeconfigOnHosts() string {
	return filepath.Join(h.Root, "kubeconfigs", "admin.kubeconfig")
}
