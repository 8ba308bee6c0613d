package kd

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/link"
)

// LinkCADir is the directory, beside the cluster's kubeconfig, of the CA
// that issues Kubedirect's link certificates (ca.crt, ca.key).
const LinkCADir = "link-ca"

// linkTLS issues each hop's link certificate from a CA kdbench controls, so
// every link is mutual TLS and each hop accepts only its expected peer
// (spiffe://kdbench/hop/<hop>). The CA is kdbench's own (EC P-256), not the
// cluster's: kubeadm's is RSA-2048 and its key is not the harness's to use.
// A nil *linkTLS is plaintext links (kd-insecure).
type linkTLS struct {
	ca *pki.CA
}

// newLinkTLS loads the link CA kept beside kubeconfig, generating it the
// first time.
func newLinkTLS(kubeconfig string) (*linkTLS, error) {
	dir := filepath.Join(filepath.Dir(kubeconfig), LinkCADir)
	ca, err := pki.LoadCA(dir, "ca")
	if errors.Is(err, fs.ErrNotExist) {
		if ca, err = pki.NewCA("kdbench-link-ca"); err != nil {
			return nil, err
		}
		err = writeCA(ca, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("kd: the link CA in %s: %w (remove the directory to have a new one generated)", dir, err)
	}
	return &linkTLS{ca: ca}, nil
}

func writeCA(ca *pki.CA, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kp, err := ca.Pair()
	if err != nil {
		return err
	}
	return kp.Write(dir, "ca")
}

// Paths of a hop's link identity in its component's directory.
const (
	tlsCAFile   = "link/ca.crt"
	tlsCertFile = "link/hop.crt"
	tlsKeyFile  = "link/hop.key"
)

// files issues hop's certificate and returns the files that hold it on the
// hop's host and the flags that make its process use them.
func (l *linkTLS) files(hop string) ([]clusters.File, []string, error) {
	if l == nil {
		return nil, nil, nil
	}
	kp, err := l.ca.Issue(link.HopCertificate(hop))
	if err != nil {
		return nil, nil, fmt.Errorf("kd: link certificate of hop %s: %w", hop, err)
	}
	cert, key, err := kp.PEM()
	if err != nil {
		return nil, nil, err
	}
	caCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.ca.Cert.Raw})
	files := []clusters.File{
		{Path: tlsCAFile, Data: caCert, Mode: 0o644},
		{Path: tlsCertFile, Data: cert, Mode: 0o644},
		{Path: tlsKeyFile, Data: key, Mode: 0o600},
	}
	return files, []string{"--tls-ca=" + tlsCAFile, "--tls-cert=" + tlsCertFile, "--tls-key=" + tlsKeyFile}, nil
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
