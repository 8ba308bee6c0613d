package link

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/kdbench/kdbench/internal/pki"
)

// Mutual TLS on links: every hop holds a certificate from the link CA
// whose URI SAN names it (spiffe://kdbench/hop/<name>). A hop's listener
// accepts only its upstream hop; its dialer accepts only the downstream hop it
// meant to reach. Chain verification and the identity check happen in one
// place (verifyPeer) for both sides, so neither relies on host names: hops
// move between loopback ports on every restart.

const (
	idScheme = "spiffe"
	idDomain = "kdbench"
	idPrefix = "/hop/"
)

// HopIdentity is the URI naming hop in its link certificate.
func HopIdentity(hop string) *url.URL {
	return &url.URL{Scheme: idScheme, Host: idDomain, Path: idPrefix + hop}
}

// HopOf returns the hop a certificate names, from its only kdbench hop URI.
func HopOf(c *x509.Certificate) (string, error) {
	var hops []string
	for _, u := range c.URIs {
		if u.Scheme == idScheme && u.Host == idDomain && strings.HasPrefix(u.Path, idPrefix) {
			if h := strings.TrimPrefix(u.Path, idPrefix); h != "" && !strings.Contains(h, "/") {
				hops = append(hops, h)
			}
		}
	}
	if len(hops) != 1 {
		return "", fmt.Errorf("link: certificate %q names %d hops (%v), want exactly 1", c.Subject.CommonName, len(hops), hops)
	}
	return hops[0], nil
}

// HopCertificate is the template of hop's link certificate: it serves the
// hop's upstream and authenticates it to its downstreams.
func HopCertificate(hop string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kubedirect-hop:" + hop},
		URIs:        []*url.URL{HopIdentity(hop)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

// HopCertFiles are where WriteHopCert stores hop's pair in dir.
func HopCertFiles(dir, hop string) (cert, key string) {
	base := filepath.Join(dir, "kubedirect-"+hop)
	return base + ".crt", base + ".key"
}

// WriteHopCert issues hop's link certificate from ca into dir.
func WriteHopCert(ca *pki.CA, dir, hop string) error {
	kp, err := ca.Issue(HopCertificate(hop))
	if err != nil {
		return fmt.Errorf("link: hop %s: %w", hop, err)
	}
	return kp.Write(dir, "kubedirect-"+hop)
}

// Credentials are a hop's link identity and the CA its peers must chain to.
type Credentials struct {
	Hop   string // from Cert
	Cert  tls.Certificate
	Roots *x509.CertPool
}

// NewCredentials checks that cert names a hop.
func NewCredentials(ca *x509.Certificate, cert tls.Certificate) (*Credentials, error) {
	if len(cert.Certificate) == 0 {
		return nil, errors.New("link: no hop certificate")
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, err
		}
		cert.Leaf = leaf
	}
	hop, err := HopOf(cert.Leaf)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &Credentials{Hop: hop, Cert: cert, Roots: roots}, nil
}

// LoadCredentials reads the CA certificate and a hop's pair (PEM files).
func LoadCredentials(caFile, certFile, keyFile string) (*Credentials, error) {
	ca, err := pki.LoadCert(caFile)
	if err != nil {
		return nil, fmt.Errorf("link: CA: %w", err)
	}
	kp, err := pki.LoadPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("link: hop certificate: %w", err)
	}
	c, err := NewCredentials(ca, kp.TLS())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return c, nil
}

// ServerConfig accepts clients that prove to be one of peers.
func (c *Credentials) ServerConfig(peers ...string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Cert},
		// The chain is verified in VerifyConnection, against Roots, with the
		// client usage; the handshake still proves the client holds the key.
		ClientAuth:       tls.RequireAnyClientCert,
		VerifyConnection: verifyPeer(c.Roots, x509.ExtKeyUsageClientAuth, peers),
	}
}

// ClientConfig accepts a server that proves to be peer.
func (c *Credentials) ClientConfig(peer string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Cert},
		// Host names say nothing about which hop listens on a loopback port:
		// VerifyConnection checks the chain and the hop identity instead.
		InsecureSkipVerify: true,
		VerifyConnection:   verifyPeer(c.Roots, x509.ExtKeyUsageServerAuth, []string{peer}),
	}
}

// ServerOption makes ListenGRPC require mutual TLS from one of peers.
func (c *Credentials) ServerOption(peers ...string) grpc.ServerOption {
	return grpc.Creds(credentials.NewTLS(c.ServerConfig(peers...)))
}

// NewMTLSDialer dials with mutual TLS; peerAt names the hop expected at each
// address, and an address it does not name is not dialled.
func NewMTLSDialer(c *Credentials, peerAt map[string]string) *GRPCDialer {
	return newGRPCDialer(nil, func(addr string) (credentials.TransportCredentials, error) {
		peer, ok := peerAt[addr]
		if !ok {
			return nil, fmt.Errorf("link: dial %s: no hop expected there", addr)
		}
		return credentials.NewTLS(c.ClientConfig(peer)), nil
	})
}

var errNoPeerCert = errors.New("link: peer sent no certificate")

func verifyPeer(roots *x509.CertPool, usage x509.ExtKeyUsage, want []string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errNoPeerCert
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return fmt.Errorf("link: peer certificate %q: %w", leaf.Subject.CommonName, err)
		}
		hop, err := HopOf(leaf)
		if err != nil {
			return err
		}
		if !slices.Contains(want, hop) {
			return fmt.Errorf("link: peer is hop %q, want %s", hop, strings.Join(want, " or "))
		}
		return nil
	}
}
