package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIssueWriteLoad(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	caPair, err := ca.Pair()
	if err != nil {
		t.Fatal(err)
	}
	if err := caPair.Write(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "leaf"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	if err := kp.Write(dir, "leaf"); err != nil {
		t.Fatal(err)
	}

	loadedCA, err := LoadCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	// A CA read back signs certificates its original verifies.
	kp2, err := loadedCA.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "leaf2"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	loaded, err := LoadPair(filepath.Join(dir, "leaf.crt"), filepath.Join(dir, "leaf.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cert  *x509.Certificate
		usage x509.ExtKeyUsage
	}{{loaded.Cert, x509.ExtKeyUsageClientAuth}, {kp2.Cert, x509.ExtKeyUsageServerAuth}} {
		if _, err := c.cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{c.usage}}); err != nil {
			t.Errorf("%s: %v", c.cert.Subject.CommonName, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "leaf.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("leaf.key: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, kp := range map[string]*KeyPair{"a": a, "b": b} {
		if err := kp.Write(dir, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.crt"), []byte("not pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := func(f string) string { return filepath.Join(dir, f) }
	for _, tc := range []struct {
		name, want string
		load       func() error
	}{
		{"key of another cert", "does not match", func() error { _, err := LoadPair(p("a.crt"), p("b.key")); return err }},
		{"not PEM", "no PEM block", func() error { _, err := LoadCert(p("junk.crt")); return err }},
		{"key file as cert", "no PEM block", func() error { _, err := LoadCert(p("a.key")); return err }},
		{"missing", "no such file", func() error { _, err := LoadCert(p("none.crt")); return err }},
		{"leaf as CA", "not a CA", func() error { _, err := LoadCA(dir, "a"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
