// Package pki issues the X.509 certificates of a local cluster: one CA, made
// per cluster, signs every serving and client certificate (the API server's,
// its clients', the Kubedirect hops'). Keys are ECDSA P-256, so a whole PKI is
// generated in milliseconds.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// Validity is long enough for any run; the whole PKI is regenerated per cluster.
const Validity = 365 * 24 * time.Hour

// CA signs certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// KeyPair is an issued certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA named cn.
func NewCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue signs a new key with tmpl's subject, names and extended key usages;
// serial number, validity and key usage are set here.
func (ca *CA) Issue(tmpl *x509.Certificate) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	t := *tmpl
	t.SerialNumber = serial()
	t.NotBefore = now.Add(-time.Hour)
	t.NotAfter = now.Add(Validity)
	t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, &t, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// Pair is the CA's own certificate and key, to be written like any other.
func (ca *CA) Pair() (*KeyPair, error) {
	key, ok := ca.Key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("CA key is %T, not ECDSA", ca.Key)
	}
	return &KeyPair{Cert: ca.Cert, Key: key}, nil
}

// TLS is the pair as a TLS certificate.
func (kp *KeyPair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert}
}

// PEM is the pair as PEM: the certificate and the "EC PRIVATE KEY", as
// Write stores them, for placing on another host.
func (kp *KeyPair) PEM() (cert, key []byte, err error) {
	der, err := x509.MarshalECPrivateKey(kp.Key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// Write stores the pair as dir/name.crt and dir/name.key (mode 0600), each
// atomically.
func (kp *KeyPair) Write(dir, name string) error {
	if err := WritePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", kp.Cert.Raw, 0o644); err != nil {
		return err
	}
	return WriteKey(filepath.Join(dir, name+".key"), kp.Key)
}

// LoadCA reads the CA written as dir/name.crt and dir/name.key.
func LoadCA(dir, name string) (*CA, error) {
	kp, err := LoadPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
	if err != nil {
		return nil, err
	}
	if !kp.Cert.IsCA {
		return nil, fmt.Errorf("%s: not a CA certificate", filepath.Join(dir, name+".crt"))
	}
	return &CA{Cert: kp.Cert, Key: kp.Key}, nil
}

// LoadPair reads a PEM certificate and its PEM EC private key.
func LoadPair(certFile, keyFile string) (*KeyPair, error) {
	cert, err := LoadCert(certFile)
	if err != nil {
		return nil, err
	}
	der, err := readPEM(keyFile, "EC PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not match the certificate %s", keyFile, certFile)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// LoadCert reads the first PEM certificate of path.
func LoadCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: no PEM block %q", path, typ)
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
}

// WriteKey stores key as a PEM "EC PRIVATE KEY" readable only by its owner.
func WriteKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return WritePEM(path, "EC PRIVATE KEY", der, 0o600)
}

// WritePEM stores der as one PEM block, atomically.
func WritePEM(path, typ string, der []byte, mode os.FileMode) error {
	if len(der) == 0 {
		return errors.New("pki: nothing to write to " + path)
	}
	return fsutil.WriteFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return n
}
