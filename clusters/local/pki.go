package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/internal/pki"
)

// identity is a client certificate's subject: CN is the user, O the groups.
type identity struct {
	file   string
	user   string
	groups []string
}

// clientIdentities are the users the cluster's components authenticate as.
// The controller-manager and scheduler use their upstream names so that the
// bootstrap RBAC policy applies unchanged; the node agent gets its own user,
// bound to the system:node ClusterRole after start-up (it is one process
// serving many nodes, so the per-node Node authorizer cannot apply).
var clientIdentities = []identity{
	{file: "admin", user: "kubernetes-admin", groups: []string{"system:masters"}},
	{file: "kube-controller-manager", user: "system:kube-controller-manager"},
	{file: "kube-scheduler", user: "system:kube-scheduler"},
	{file: nodeAgentComponent, user: nodeAgentUser},
	{file: "kube-apiserver-kubelet-client", user: "kube-apiserver-kubelet-client", groups: []string{"system:masters"}},
}

const nodeAgentUser = "kdbench:node-agent"

// writePKI creates a CA, the API server's serving certificate (for loopback
// and extraIPs), a client certificate per identity and the service-account
// signing key under dir.
func writePKI(dir string, extraIPs ...net.IP) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := pki.NewCA("kdbench-ca")
	if err != nil {
		return err
	}
	caPair, err := ca.Pair()
	if err != nil {
		return err
	}
	if err := caPair.Write(dir, "ca"); err != nil {
		return err
	}

	serving := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: append([]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(serviceIP)}, extraIPs...),
	}
	if err := issue(dir, "kube-apiserver", serving, ca); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: id.user, Organization: id.groups},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := issue(dir, id.file, tmpl, ca); err != nil {
			return err
		}
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := pki.WriteKey(filepath.Join(dir, "sa.key"), saKey); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	return pki.WritePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub, 0o644)
}

func issue(dir, name string, tmpl *x509.Certificate, ca *pki.CA) error {
	kp, err := ca.Issue(tmpl)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return kp.Write(dir, name)
}
