package local

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kdbench/kdbench/clusters/local/etcd"
	"github.com/kdbench/kdbench/internal/freeport"
	"github.com/kdbench/kdbench/internal/supervisor"
)

const (
	etcdComponent      = "etcd"
	apiserverComponent = "kube-apiserver"
	kcmComponent       = "kube-controller-manager"
	schedComponent     = "kube-scheduler"
	nodeAgentComponent = "nodeagent"

	serviceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1"
	// podCIDR is split per node by the node agent; it must not be loopback,
	// because validation drops loopback addresses from EndpointSlices.
	podCIDR = "10.128.0.0/9"
)

// ports are the loopback ports one cluster listens on.
type ports struct {
	EtcdClient, EtcdPeer, APIServer, KCM, Scheduler, NodeAgentMetrics int
}

// plan is everything needed to start the cluster's components in order.
type plan struct {
	name     string
	l        layout
	p        ports
	prof     Profile
	binDir   string
	self     string // the kdbench executable, which runs etcd and the node agent
	nodes    int
	delay    time.Duration
	noFsync  bool
	tlsAdmin *tls.Config // admin client for health checks
	// host is the address every component listens on: empty for loopback
	// (this machine), a LAN address when the components run on the hosts
	// of a real network (HostPlan).
	host string
	// extra are flags Reconfigure set, by component (Provider.mu).
	extra map[string][]string
}

// addr is the address the components listen on and are reached at.
func (pl *plan) addr() string {
	if pl.host == "" {
		return "127.0.0.1"
	}
	return pl.host
}

// hostPort is pl.addr():port, as a URL's host.
func (pl *plan) hostPort(port int) string { return net.JoinHostPort(pl.addr(), strconv.Itoa(port)) }

func (pl *plan) apiserverURL() string { return "https://" + pl.hostPort(pl.p.APIServer) }

func (pl *plan) etcd() component {
	url := "http://" + pl.hostPort(pl.p.EtcdClient)
	args := []string{"internal", "etcd",
		"--data-dir=" + pl.l.EtcdData(),
		"--listen-client-url=" + url,
		"--listen-peer-url=http://" + pl.hostPort(pl.p.EtcdPeer),
		"--quota-backend-bytes=" + strconv.FormatInt(pl.prof.EtcdQuotaBytes, 10),
	}
	if pl.prof.EtcdCompactionPeriod != "" {
		args = append(args, "--auto-compaction-retention="+pl.prof.EtcdCompactionPeriod)
	}
	if pl.noFsync {
		args = append(args, "--unsafe-no-fsync")
	}
	return component{
		Name: etcdComponent, Path: pl.self, Args: args, Log: pl.l.Log(etcdComponent), URL: url + etcd.ReadyPath,
		Healthy: func(ctx context.Context, pid int) error {
			return supervisor.HTTPOK(ctx, http.DefaultClient, url+etcd.ReadyPath, pid)
		},
	}
}

func (pl *plan) apiserver() component {
	pki := func(f string) string { return filepath.Join(pl.l.PKI(), f) }
	base := map[string]string{
		"etcd-servers":                     "http://" + pl.hostPort(pl.p.EtcdClient),
		"bind-address":                     pl.addr(),
		"advertise-address":                pl.addr(),
		"secure-port":                      strconv.Itoa(pl.p.APIServer),
		"tls-cert-file":                    pki("kube-apiserver.crt"),
		"tls-private-key-file":             pki("kube-apiserver.key"),
		"client-ca-file":                   pki("ca.crt"),
		"kubelet-client-certificate":       pki("kube-apiserver-kubelet-client.crt"),
		"kubelet-client-key":               pki("kube-apiserver-kubelet-client.key"),
		"service-account-key-file":         pki("sa.pub"),
		"service-account-signing-key-file": pki("sa.key"),
		"service-account-issuer":           "https://kubernetes.default.svc.cluster.local",
		"service-cluster-ip-range":         serviceCIDR,
		"authorization-mode":               "Node,RBAC",
		"enable-admission-plugins":         "NodeRestriction",
		"allow-privileged":                 "true",
		"cert-dir":                         filepath.Join(pl.l.PKI(), "kube-apiserver-generated"),
		// A loopback advertise address cannot be written into the kubernetes
		// Service's Endpoints, and nothing here needs in-cluster API access.
		"endpoint-reconciler-type": "none",
	}
	return component{
		Name: apiserverComponent, Path: filepath.Join(pl.binDir, apiserverComponent),
		Args: flagList(merge(base, pl.prof.APIServer)), Log: pl.l.Log(apiserverComponent), URL: pl.apiserverURL() + "/readyz",
		Healthy: func(ctx context.Context, _ int) error {
			return supervisor.HTTPOK(ctx, &http.Client{Transport: &http.Transport{TLSClientConfig: pl.tlsAdmin}}, pl.apiserverURL()+"/readyz", 0)
		},
	}
}

func (pl *plan) controllerManager() component {
	kc := pl.l.ComponentKubeconfig(kcmComponent)
	base := map[string]string{
		"kubeconfig":                       kc,
		"authentication-kubeconfig":        kc,
		"authorization-kubeconfig":         kc,
		"bind-address":                     pl.addr(),
		"secure-port":                      strconv.Itoa(pl.p.KCM),
		"cert-dir":                         filepath.Join(pl.l.PKI(), kcmComponent),
		"leader-elect":                     "false",
		"service-account-private-key-file": filepath.Join(pl.l.PKI(), "sa.key"),
		"root-ca-file":                     filepath.Join(pl.l.PKI(), "ca.crt"),
		"cluster-signing-cert-file":        filepath.Join(pl.l.PKI(), "ca.crt"),
		"cluster-signing-key-file":         filepath.Join(pl.l.PKI(), "ca.key"),
		"service-cluster-ip-range":         serviceCIDR,
		// Each controller acts as its own service account, so the bootstrap
		// RBAC roles (system:controller:*) apply, as on kubeadm clusters.
		"use-service-account-credentials": "true",
	}
	url := "https://" + pl.hostPort(pl.p.KCM) + "/healthz"
	return component{
		Name: kcmComponent, Path: filepath.Join(pl.binDir, kcmComponent),
		Args: flagList(merge(base, pl.prof.ControllerManager)), Log: pl.l.Log(kcmComponent), URL: url,
		Healthy: func(ctx context.Context, _ int) error {
			return supervisor.HTTPOK(ctx, pinnedClient(filepath.Join(pl.l.PKI(), kcmComponent, kcmComponent+".crt")), url, 0)
		},
	}
}

func (pl *plan) scheduler() component {
	kc := pl.l.ComponentKubeconfig(schedComponent)
	args := flagList(map[string]string{
		"config":                    pl.l.Config("kube-scheduler.yaml"),
		"authentication-kubeconfig": kc,
		"authorization-kubeconfig":  kc,
		"bind-address":              pl.addr(),
		"secure-port":               strconv.Itoa(pl.p.Scheduler),
		"cert-dir":                  filepath.Join(pl.l.PKI(), schedComponent),
	})
	url := "https://" + pl.hostPort(pl.p.Scheduler) + "/healthz"
	return component{
		Name: schedComponent, Path: filepath.Join(pl.binDir, schedComponent), Args: args, Log: pl.l.Log(schedComponent), URL: url,
		Healthy: func(ctx context.Context, _ int) error {
			return supervisor.HTTPOK(ctx, pinnedClient(filepath.Join(pl.l.PKI(), schedComponent, schedComponent+".crt")), url, 0)
		},
	}
}

// schedulerConfig is the KubeSchedulerConfiguration for the profile.
func (pl *plan) schedulerConfig() []byte {
	pct := ""
	if pl.prof.PercentageOfNodesToScore > 0 {
		pct = fmt.Sprintf("percentageOfNodesToScore: %d\n", pl.prof.PercentageOfNodesToScore)
	}
	return []byte(fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %g
  burst: %d
leaderElection:
  leaderElect: false
parallelism: %d
%s`, pl.l.ComponentKubeconfig(schedComponent), pl.prof.SchedulerQPS, pl.prof.SchedulerBurst, pl.prof.SchedulerParallelism, pct))
}

func (pl *plan) nodeAgent() component {
	url := "http://" + pl.hostPort(pl.p.NodeAgentMetrics)
	args := []string{"internal", "nodeagent",
		"--kubeconfig=" + pl.l.ComponentKubeconfig(nodeAgentComponent),
		"--nodes=" + itoa(pl.nodes),
		"--sandbox-delay=" + pl.delay.String(),
		"--pod-cidr=" + podCIDR,
		"--kube-api-qps=" + strconv.FormatFloat(float64(pl.prof.NodeAgentQPS), 'f', -1, 32),
		"--kube-api-burst=" + itoa(pl.prof.NodeAgentBurst),
		"--metrics-addr=" + pl.hostPort(pl.p.NodeAgentMetrics),
	}
	return component{
		Name: nodeAgentComponent, Path: pl.self, Args: args, Log: pl.l.Log(nodeAgentComponent), URL: url + "/readyz",
		// The agent names its pid (procid): a parallel run that took the
		// port picked for it must not pass for it.
		Healthy: func(ctx context.Context, pid int) error {
			return supervisor.HTTPOK(ctx, http.DefaultClient, url+"/readyz", pid)
		},
	}
}

// pinnedClient trusts only the certificate in certFile. The controller-manager
// and scheduler serve a self-signed certificate they write into their own
// cert-dir at start; pinning it means that another cluster's component that
// took the port picked for ours cannot pass for it.
func pinnedClient(certFile string) *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // verified below against the pinned certificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			b, err := os.ReadFile(certFile)
			if err != nil {
				return fmt.Errorf("its certificate is not written yet: %w", err)
			}
			blk, _ := pem.Decode(b)
			if blk == nil || len(raw) == 0 || !bytes.Equal(blk.Bytes, raw[0]) {
				return fmt.Errorf("answered by a process other than the one started (its port was taken?): certificate differs from %s", certFile)
			}
			return nil
		},
	}}}
}

// freePort picks an unused loopback port outside the ephemeral range.
func freePort() (int, error) { return freeport.Port("127.0.0.1") }

// checkPortFree reports a clear error when a requested port is taken.
func checkPortFree(component string, port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("%s: port %d on 127.0.0.1 is in use (choose another or stop what holds it): %w", component, port, err)
	}
	return l.Close()
}
