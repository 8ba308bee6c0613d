package adapter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/internal/pki"
	"github.com/kdbench/kdbench/kubedirect/hop"
	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

func hopCreds(t *testing.T, ca *pki.CA, name string) *link.Credentials {
	t.Helper()
	kp, err := ca.Issue(link.HopCertificate(name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := link.NewCredentials(ca.Cert, kp.TLS())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStartHopMTLS: an autoscaler hop resyncs with a deployment hop over
// mutual TLS only when both hold certificates of the same CA.
func TestStartHopMTLS(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	for _, tc := range []struct {
		name       string
		head, tail *link.Credentials
		wantSync   bool
	}{
		{"both mTLS", hopCreds(t, ca, refhops.Autoscaler), hopCreds(t, ca, refhops.Deployment), true},
		{"both plaintext", nil, nil, true},
		{"plaintext head", nil, hopCreds(t, ca, refhops.Deployment), false},
		{"head of another CA", hopCreds(t, other, refhops.Autoscaler), hopCreds(t, ca, refhops.Deployment), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tail, err := StartHop(ctx, HopConfig{Name: refhops.Deployment, Upstream: refhops.Autoscaler, Listen: "127.0.0.1:0",
				Router: hop.RouterFuncs{UpstreamFunc: IsKind(wire.KindDeployment)}, TLS: tc.tail})
			if err != nil {
				t.Fatal(err)
			}
			head, err := StartHop(ctx, HopConfig{Name: refhops.Autoscaler, Down: map[string]string{refhops.Deployment: tail.Addr},
				Router: hop.RouterFuncs{DownstreamFunc: KindTo(wire.KindDeployment, refhops.Deployment)}, TLS: tc.head})
			if err != nil {
				t.Fatal(err)
			}
			wait := 10 * time.Second
			if !tc.wantSync {
				wait = 1500 * time.Millisecond // refused links retry with backoff forever
			}
			wctx, wcancel := context.WithTimeout(ctx, wait)
			defer wcancel()
			err = head.WaitSynced(wctx)
			if tc.wantSync && err != nil {
				t.Fatal(err)
			}
			if !tc.wantSync && err == nil {
				t.Fatal("head resynced over a link that should be refused")
			}
		})
	}
}

func TestStartHopWrongCertificate(t *testing.T) {
	_, err := StartHop(context.Background(), HopConfig{Name: refhops.Deployment, Upstream: refhops.Autoscaler, Listen: "127.0.0.1:0",
		TLS: hopCreds(t, mustCA(t), refhops.Scheduler)})
	if err == nil || !strings.Contains(err.Error(), `names hop "scheduler"`) {
		t.Fatalf("StartHop with the scheduler's certificate: %v", err)
	}
}

func mustCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("adapter-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
