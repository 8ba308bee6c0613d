package link

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/internal/pki"
)

func newCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("link-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func hopCreds(t testing.TB, ca *pki.CA, hop string) *Credentials {
	t.Helper()
	kp, err := ca.Issue(HopCertificate(hop))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCredentials(ca.Cert, kp.TLS())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trusting is c with ca as its only root.
func trusting(c *Credentials, ca *pki.CA) *Credentials {
	d := *c
	d.Roots = x509.NewCertPool()
	d.Roots.AddCert(ca.Cert)
	return &d
}

// listenMTLS serves the link as hop server, accepting only upstream.
func listenMTLS(t testing.TB, server *Credentials, upstream string) *GRPCListener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := ListenGRPC(lis, server.ServerOption(upstream))
	t.Cleanup(func() { l.Close() })
	return l
}

// roundTrip opens a stream, sends a frame and waits for either the server to
// accept it and reply, or the client's stream to fail. accepted reports
// whether the server ever saw the stream.
func roundTrip(l Listener, d Dialer, addr string) (wasAccepted bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if _, err := c.Send(frame(1)); err != nil {
		return false, err
	}
	reply := make(chan error, 1)
	go func() {
		f, _, _, err := c.Recv()
		if err == nil && f.Seq != 2 {
			err = fmt.Errorf("reply has seq %d, want 2", f.Seq)
		}
		reply <- err
	}()
	accepted := make(chan Conn, 1)
	go func() {
		if s, err := l.Accept(ctx); err == nil {
			accepted <- s
		}
	}()
	select {
	case err := <-reply:
		if err == nil {
			err = errors.New("reply without an accepted stream")
		}
		return false, err
	case s := <-accepted:
		defer s.Close()
		if f, _, _, err := s.Recv(); err != nil || f.Seq != 1 {
			return true, fmt.Errorf("server received %v, %v", f, err)
		}
		if _, err := s.Send(frame(2)); err != nil {
			return true, err
		}
		return true, <-reply
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// TestMTLS: the deployment hop's listener takes streams only from the
// autoscaler, and the autoscaler's dialer only reaches the deployment hop,
// both with certificates from the cluster CA.
func TestMTLS(t *testing.T) {
	ca, otherCA := newCA(t), newCA(t)
	noCert := hopCreds(t, ca, "autoscaler")
	noCert.Cert = tls.Certificate{}
	for _, tc := range []struct {
		name         string
		server       *Credentials // serves as the deployment hop, upstream autoscaler
		client       *Credentials // nil: plaintext
		wantOK       bool
		wantErr      string // in the client's error, when the client refuses
		serverErr    string // in the server's handshake error, when the server refuses
		wantAccepted bool
	}{
		{name: "expected peers", server: hopCreds(t, ca, "deployment"), client: hopCreds(t, ca, "autoscaler"), wantOK: true, wantAccepted: true},
		{name: "client from another CA", server: hopCreds(t, ca, "deployment"), client: trusting(hopCreds(t, otherCA, "autoscaler"), ca),
			serverErr: "certificate signed by unknown authority"},
		{name: "client is the wrong hop", server: hopCreds(t, ca, "deployment"), client: hopCreds(t, ca, "scheduler"),
			serverErr: `peer is hop "scheduler", want autoscaler`},
		{name: "client without certificate", server: hopCreds(t, ca, "deployment"), client: noCert,
			serverErr: "client didn't provide a certificate"},
		{name: "plaintext client", server: hopCreds(t, ca, "deployment")},
		{name: "server from another CA", server: trusting(hopCreds(t, otherCA, "deployment"), ca), client: hopCreds(t, ca, "autoscaler"),
			wantErr: "certificate signed by unknown authority", serverErr: "bad certificate"},
		{name: "server is the wrong hop", server: hopCreds(t, ca, "replicaset"), client: hopCreds(t, ca, "autoscaler"),
			wantErr: "want deployment", serverErr: "bad certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := listenMTLS(t, tc.server, "autoscaler")
			addr := l.Addr().String()
			var d *GRPCDialer
			if tc.client == nil {
				d = NewGRPCDialer()
			} else {
				d = NewMTLSDialer(tc.client, map[string]string{addr: "deployment"})
			}
			defer d.Close()
			if tc.client != nil {
				// The same configurations over a pipe, to see the server's reason.
				serr, _ := handshake(tc.server.ServerConfig("autoscaler"), tc.client.ClientConfig("deployment"))
				if tc.serverErr == "" && serr != nil || tc.serverErr != "" && (serr == nil || !strings.Contains(serr.Error(), tc.serverErr)) {
					t.Errorf("server handshake error %v, want one containing %q", serr, tc.serverErr)
				}
			}
			accepted, err := roundTrip(l, d, addr)
			if accepted != tc.wantAccepted {
				t.Errorf("server accepted the stream: %v, want %v (err %v)", accepted, tc.wantAccepted, err)
			}
			if tc.wantOK {
				if err != nil {
					t.Fatalf("round trip: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("round trip succeeded, want the link refused")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

// handshake runs a TLS handshake between the two configurations over a pipe.
func handshake(server, client *tls.Config) (serverErr, clientErr error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(5 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(b, server)
		err := s.Handshake()
		b.Close() // a refused client must not wait for the server's next flight
		done <- err
	}()
	c := tls.Client(a, client)
	clientErr = c.Handshake()
	if clientErr == nil {
		// TLS 1.3 clients finish first; a refusal arrives with the next read.
		_, clientErr = c.Read(make([]byte, 1))
	}
	a.Close()
	return <-done, clientErr
}

func TestNewCredentialsWithoutCertificate(t *testing.T) {
	if _, err := NewCredentials(newCA(t).Cert, tls.Certificate{}); err == nil {
		t.Fatal("credentials without a certificate")
	}
}

func TestMTLSDialerUnknownAddress(t *testing.T) {
	d := NewMTLSDialer(hopCreds(t, newCA(t), "autoscaler"), map[string]string{"127.0.0.1:1": "deployment"})
	defer d.Close()
	_, err := d.Dial(context.Background(), "127.0.0.1:2")
	if err == nil || !strings.Contains(err.Error(), "no hop expected") {
		t.Fatalf("dial of an unknown address: %v", err)
	}
}

func TestHopOf(t *testing.T) {
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		uris []*url.URL
		want string // "" = error
	}{
		{"hop", []*url.URL{HopIdentity("scheduler")}, "scheduler"},
		{"parsed", []*url.URL{u("spiffe://kdbench/hop/nodeagent")}, "nodeagent"},
		{"other URIs ignored", []*url.URL{u("https://example.com/hop/x"), HopIdentity("replicaset")}, "replicaset"},
		{"none", nil, ""},
		{"two hops", []*url.URL{HopIdentity("a"), HopIdentity("b")}, ""},
		{"other trust domain", []*url.URL{u("spiffe://other/hop/a")}, ""},
		{"nested path", []*url.URL{u("spiffe://kdbench/hop/a/b")}, ""},
		{"empty name", []*url.URL{u("spiffe://kdbench/hop/")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := HopOf(&x509.Certificate{URIs: tc.uris})
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got hop %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestLoadCredentials: certificates written by WriteHopCert load back with
// their hop; a certificate that names no hop is rejected.
func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	caPair, err := ca.Pair()
	if err != nil {
		t.Fatal(err)
	}
	if err := caPair.Write(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	if err := WriteHopCert(ca, dir, "scheduler"); err != nil {
		t.Fatal(err)
	}
	crt, key := HopCertFiles(dir, "scheduler")
	c, err := LoadCredentials(filepath.Join(dir, "ca.crt"), crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hop != "scheduler" {
		t.Fatalf("hop %q, want scheduler", c.Hop)
	}
	// The CA's own pair names no hop.
	if _, err := LoadCredentials(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")); err == nil {
		t.Fatal("loaded the CA certificate as a hop's")
	}
}
