package kd

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/link"
)

// writeRSACA writes a kubeadm-like cluster CA (RSA-2048) as pki/ca.crt and
// pki/ca.key beside the kubeconfig.
func writeRSACA(t *testing.T, root string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{
		"ca.crt": {Type: "CERTIFICATE", Bytes: der},
		"ca.key": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLinkTLSBesideAnRSAClusterCA: on a cluster whose CA is RSA (kubeadm's),
// kd issues every hop's identity from its own EC link CA, kept beside the
// kubeconfig and reused; the files placed for each hop load as that hop.
func TestLinkTLSBesideAnRSAClusterCA(t *testing.T) {
	root := t.TempDir()
	writeRSACA(t, root)
	clusterCA, _ := os.ReadFile(filepath.Join(root, "pki", "ca.crt"))
	kubeconfig := filepath.Join(root, "kubeconfig")
	l, err := newLinkTLS(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.LoadCA(filepath.Join(root, LinkCADir), "ca"); err != nil {
		t.Fatalf("the link CA is not kept beside the kubeconfig: %v", err)
	}
	again, err := newLinkTLS(kubeconfig)
	if err != nil || !again.ca.Cert.Equal(l.ca.Cert) {
		t.Fatalf("a second Prepare made another link CA (%v)", err)
	}
	for _, hop := range []string{"nodeagent", "scheduler", "replicaset", "deployment"} {
		files, args, err := l.files(hop)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "kd-"+hop) // the hop's directory on its host
		if err := local.WriteFiles(dir, files); err != nil {
			t.Fatal(err)
		}
		flag := map[string]string{}
		for _, a := range args {
			k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			flag[k] = filepath.Join(dir, v) // relative to the hop's directory
		}
		c, err := link.LoadCredentials(flag["tls-ca"], flag["tls-cert"], flag["tls-key"])
		if err != nil {
			t.Fatalf("%s: %v (flags %q)", hop, err, args)
		}
		if c.Hop != hop || c.Cert.Leaf.URIs[0].String() != "spiffe://kdbench/hop/"+hop {
			t.Errorf("kd-%s got the certificate of hop %q", hop, c.Hop)
		}
		ca, _ := os.ReadFile(flag["tls-ca"])
		if bytes.Equal(ca, clusterCA) {
			t.Errorf("kd-%s trusts the cluster CA, not the link CA", hop)
		}
	}
	c, err := l.credentials("autoscaler")
	if err != nil || c.Hop != "autoscaler" {
		t.Fatalf("autoscaler credentials: %+v, %v", c, err)
	}

	var insecure *linkTLS
	if files, args, err := insecure.files("scheduler"); files != nil || args != nil || err != nil {
		t.Errorf("insecure links: files %v, flags %q, %v", files, args, err)
	}
	if c, err := insecure.credentials("autoscaler"); c != nil || err != nil {
		t.Errorf("insecure links: credentials %v, %v", c, err)
	}
}

func TestLinkCAUnreadable(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, LinkCADir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newLinkTLS(filepath.Join(root, "kubeconfig")); err == nil || !strings.Contains(err.Error(), "the link CA in "+dir) {
		t.Fatalf("got %v, want an error naming %s", err, dir)
	}
}
