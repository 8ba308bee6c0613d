package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/link"
)

func TestLinkTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("cmd-test-ca")
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
	if err := link.WriteHopCert(ca, dir, "scheduler"); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	cert, key := link.HopCertFiles(dir, "scheduler")
	for _, tc := range []struct {
		name    string
		f       linkTLSFlags
		wantHop string // "" with wantErr "": plaintext
		wantErr string
	}{
		{name: "none: plaintext"},
		{name: "all", f: linkTLSFlags{caFile, cert, key}, wantHop: "scheduler"},
		{name: "no key", f: linkTLSFlags{ca: caFile, cert: cert}, wantErr: "needs all of"},
		{name: "only CA", f: linkTLSFlags{ca: caFile}, wantErr: "needs all of"},
		{name: "key of the CA", f: linkTLSFlags{caFile, cert, filepath.Join(dir, "ca.key")}, wantErr: "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.f.load("kd-scheduler")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "" // plaintext
			if c != nil {
				got = c.Hop
			}
			if got != tc.wantHop {
				t.Fatalf("hop %q, want %q", got, tc.wantHop)
			}
		})
	}
}
