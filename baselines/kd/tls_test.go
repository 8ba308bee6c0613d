package kd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/link"
)

func TestLinkTLS(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "pki")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(root, "kubeconfig")
	if _, err := newLinkTLS(kubeconfig); err == nil || !strings.Contains(err.Error(), "cluster CA") {
		t.Fatalf("without a CA: %v", err)
	}
	ca, err := pki.NewCA("kd-test-ca")
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
	l, err := newLinkTLS(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, hop := range []string{"nodeagent", "scheduler", "replicaset", "deployment"} {
		args, err := l.flags(hop)
		if err != nil {
			t.Fatal(err)
		}
		// The flags kd-<hop> gets load as hop's identity under the cluster CA.
		files := map[string]string{}
		for _, a := range args {
			k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			files[k] = v
		}
		c, err := link.LoadCredentials(files["tls-ca"], files["tls-cert"], files["tls-key"])
		if err != nil {
			t.Fatalf("%s: %v (flags %q)", hop, err, args)
		}
		if c.Hop != hop {
			t.Errorf("kd-%s got the certificate of hop %q", hop, c.Hop)
		}
	}
	c, err := l.credentials("autoscaler")
	if err != nil || c.Hop != "autoscaler" {
		t.Fatalf("autoscaler credentials: %+v, %v", c, err)
	}

	var insecure *linkTLS
	if args, err := insecure.flags("scheduler"); args != nil || err != nil {
		t.Errorf("insecure links: flags %q, %v", args, err)
	}
	if c, err := insecure.credentials("autoscaler"); c != nil || err != nil {
		t.Errorf("insecure links: credentials %v, %v", c, err)
	}
}
