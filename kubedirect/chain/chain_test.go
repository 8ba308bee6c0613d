package chain

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kdbench/kdbench/kubedirect/link"
	"github.com/kdbench/kdbench/kubedirect/refhops"
	"github.com/kdbench/kdbench/kubedirect/wire"
)

// starts records every sandbox start, to catch a pod running twice.
type starts struct {
	mu    sync.Mutex
	count map[string]int
	dup   []string
}

func watchStarts(c *Chain) *starts {
	s := &starts{count: map[string]int{}}
	c.SetSandboxHooks(func(node string, r wire.Record) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.count[r.Name]++
		if s.count[r.Name] > 1 {
			s.dup = append(s.dup, r.Name+"@"+node)
		}
	}, nil)
	return s
}

func (s *starts) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.dup) > 0 {
		t.Fatalf("pods started twice: %v", s.dup)
	}
}

// converge waits (bounded only by a generous safety timeout, not asserted on)
// until owner has want running pods, no unreleased tombstones, and every hop
// holds exactly the running pods.
func converge(t *testing.T, c *Chain, owner string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := WaitFor(ctx, func() bool {
		run, stopped := c.Running(owner)
		if run != want || stopped != 0 {
			return false
		}
		for _, n := range []string{refhops.ReplicaSet, refhops.Scheduler} {
			pods, _ := c.Hop(n).Store().List(wire.KindPod)
			if len(pods) != want {
				return false
			}
			for _, p := range pods {
				if p.Phase != wire.PhaseRunning {
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		run, stopped := c.Running(owner)
		rs, _ := c.Hop(refhops.ReplicaSet).Store().List(wire.KindPod)
		sc, _ := c.Hop(refhops.Scheduler).Store().List(wire.KindPod)
		t.Fatalf("no convergence to %d pods: running %d, stopped %d, replicaset holds %d, scheduler holds %d",
			want, run, stopped, len(rs), len(sc))
	}
}

func TestChainScaleUpDown(t *testing.T) {
	cases := []struct {
		name  string
		tr    Transport
		nodes int
		n     int32
	}{
		{"grpc 5 hops 0-1000-0", GRPC, 1, 1000},
		{"grpc-mtls 5 hops 0-1000-0", GRPCMTLS, 1, 1000},
		{"memory fan-out 3 nodes 0-1000-0", Memory, 3, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c, err := Start(ctx, Options{Nodes: tc.nodes, Transport: tc.tr})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := watchStarts(c)
			if err := c.WaitSynced(ctx); err != nil {
				t.Fatal(err)
			}
			for _, n := range []int32{tc.n, 0} {
				if err := c.Scale(ctx, "default", "fn", n); err != nil {
					t.Fatal(err)
				}
				converge(t, c, "fn", int(n))
				st.check(t)
			}
			for _, n := range c.Topology.Names() {
				recs, _ := c.Hop(n).Store().List(wire.KindPod)
				if len(recs) != 0 {
					t.Errorf("%s leaks %d pod records after scaling to 0", n, len(recs))
				}
			}
		})
	}
}

// TestChainRecovery breaks links and crashes hops mid-scale over gRPC, with
// and without mutual TLS (every reconnection a new handshake); the chain must
// still converge with no pod run twice.
func TestChainRecovery(t *testing.T) {
	for _, tr := range []Transport{GRPC, GRPCMTLS} {
		t.Run(string(tr), func(t *testing.T) { testChainRecovery(t, tr) })
	}
}

func testChainRecovery(t *testing.T, tr Transport) {
	ctx := context.Background()
	c, err := Start(ctx, Options{Nodes: 2, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := watchStarts(c)
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		replicas int32
		fault    func() error
	}{
		{300, func() error { return c.Hop(refhops.ReplicaSet).DropLinks(ctx) }},
		{150, func() error { return c.Restart(refhops.Scheduler) }},
		{400, func() error { return c.Restart(refhops.ReplicaSet) }},
		{250, func() error { return c.Restart("node-1") }},
		{100, func() error { return c.Restart(refhops.Deployment) }},
	}
	for i, s := range steps {
		if err := c.Scale(ctx, "default", "fn", s.replicas); err != nil {
			t.Fatal(err)
		}
		if err := s.fault(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		converge(t, c, "fn", int(s.replicas))
		st.check(t)
	}
	// The autoscaler restarts empty and re-asserts its intent.
	if err := c.Restart(refhops.Autoscaler); err != nil {
		t.Fatal(err)
	}
	if err := c.Scale(ctx, "default", "fn", 0); err != nil {
		t.Fatal(err)
	}
	converge(t, c, "fn", 0)
	st.check(t)
	inv := 0.0
	for _, r := range []string{"disconnect", "peer_crash"} {
		for _, n := range c.Topology.Names() {
			for _, p := range append(c.Topology.Names(), "") {
				inv += testutilValue(c, n, p, r)
			}
		}
	}
	if inv == 0 {
		t.Error("no invalidation was counted")
	}
}

// TestChainMTLSRefusesPlaintext: a grpc-mtls chain's hops take no plaintext
// peer, so the mTLS numbers are of mTLS.
func TestChainMTLSRefusesPlaintext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Start(ctx, Options{Nodes: 1, Transport: GRPCMTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	d := link.NewGRPCDialer()
	defer d.Close()
	conn, err := d.Dial(ctx, c.addrs[refhops.Deployment])
	if err != nil {
		return // refused at once
	}
	defer conn.Close()
	// A hop that accepted the stream waits for our hello; a refused stream fails.
	if _, err := conn.Send(&wire.Frame{Type: wire.FrameBatch, Epoch: 1, Seq: 1}); err == nil {
		failed := make(chan error, 1)
		go func() { _, _, _, err := conn.Recv(); failed <- err }()
		select {
		case err = <-failed:
		case <-time.After(2 * time.Second):
		}
	}
	if err == nil {
		t.Fatal("a plaintext peer got a stream from the deployment hop")
	}
}
