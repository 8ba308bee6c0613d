package kd

import (
	"fmt"
	"path/filepath"

	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/link"
)

// linkTLS issues each hop's link certificate from the cluster CA, so every
// link is mutual TLS and each hop accepts only its expected peer. A nil
// *linkTLS is plaintext links (--insecure-links).
type linkTLS struct {
	dir string // the cluster's pki directory, holding ca.crt and ca.key
	ca  *pki.CA
}

// newLinkTLS reads the CA of the cluster whose admin kubeconfig is kubeconfig
// (the local provider keeps it in pki/ beside the kubeconfig).
func newLinkTLS(kubeconfig string) (*linkTLS, error) {
	dir := filepath.Join(filepath.Dir(kubeconfig), "pki")
	ca, err := pki.LoadCA(dir, "ca")
	if err != nil {
		return nil, fmt.Errorf("kd: mutual TLS on links needs the cluster CA (%w); run with insecure links to do without", err)
	}
	return &linkTLS{dir: dir, ca: ca}, nil
}

// flags issues hop's certificate into the pki directory and returns the
// flags that make its process use it.
func (l *linkTLS) flags(hop string) ([]string, error) {
	if l == nil {
		return nil, nil
	}
	if err := link.WriteHopCert(l.ca, l.dir, hop); err != nil {
		return nil, err
	}
	cert, key := link.HopCertFiles(l.dir, hop)
	return []string{"--tls-ca=" + filepath.Join(l.dir, "ca.crt"), "--tls-cert=" + cert, "--tls-key=" + key}, nil
}

// credentials issues an in-process hop's identity (the autoscaler).
func (l *linkTLS) credentials(hop string) (*link.Credentials, error) {
	if l == nil {
		return nil, nil
	}
	kp, err := l.ca.Issue(link.HopCertificate(hop))
	if err != nil {
		return nil, err
	}
	return link.NewCredentials(l.ca.Cert, kp.TLS())
}
