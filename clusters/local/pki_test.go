package local

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	b, _ := pem.Decode(data)
	require.NotNil(t, b, "%s holds no PEM block", path)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return c
}

func TestWritePKI(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writePKI(dir))
	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	require.True(t, ca.IsCA)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	serving := readCert(t, filepath.Join(dir, "kube-apiserver.crt"))
	_, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"})
	require.NoError(t, err)
	_, err = serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: "kubernetes.default.svc"})
	require.NoError(t, err)
	require.NoError(t, serving.VerifyHostname("127.0.0.1"))

	for _, tc := range []struct {
		file, cn string
		groups   []string
	}{
		{"admin", "kubernetes-admin", []string{"system:masters"}},
		{"kube-controller-manager", "system:kube-controller-manager", nil},
		{"kube-scheduler", "system:kube-scheduler", nil},
		{"nodeagent", "kdbench:node-agent", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := readCert(t, filepath.Join(dir, tc.file+".crt"))
			require.Equal(t, tc.cn, c.Subject.CommonName)
			require.Equal(t, tc.groups, c.Subject.Organization)
			_, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			require.NoError(t, err)
			// A client certificate must not be usable as a server's.
			_, err = c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			require.Error(t, err)
			st, err := os.Stat(filepath.Join(dir, tc.file+".key"))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "private keys are private")
		})
	}
	for _, f := range []string{"sa.key", "sa.pub"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
	}
}
