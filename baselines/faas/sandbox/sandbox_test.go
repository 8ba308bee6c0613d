package sandbox

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
)

func TestAddr(t *testing.T) {
	cases := []struct {
		ip, want string // want "" for an error
	}{
		{"10.130.5.7", "127.130.5.7:8080"},
		{"10.128.0.2", "127.128.0.2:8080"},
		{"192.168.1.1", "127.168.1.1:8080"},
		{"127.0.0.1", ""},
		{"fd00::1", ""},
	}
	for _, c := range cases {
		got, err := Addr(netip.MustParseAddr(c.ip))
		switch {
		case c.want == "" && err == nil:
			t.Errorf("Addr(%s) = %s, want an error", c.ip, got)
		case c.want != "" && (err != nil || got.String() != c.want):
			t.Errorf("Addr(%s) = %s, %v, want %s", c.ip, got, err, c.want)
		}
	}
}

func TestExecute(t *testing.T) {
	cases := []struct {
		name    string
		req     Request
		wantMiB int64
	}{
		{"sleep", Request{RuntimeUs: 20_000, MemoryMiB: 300}, 300},
		{"spin", Request{RuntimeUs: 20_000, MemoryMiB: 5, Spin: true}, 5},
		{"allocate", Request{RuntimeUs: 1_000, MemoryMiB: 2, Allocate: true}, 2},
		{"zero runtime", Request{}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, mem, err := Execute(context.Background(), c.req)
			if err != nil || mem != c.wantMiB || d < c.req.Runtime() || d > c.req.Runtime()+time.Second {
				t.Fatalf("Execute = %v, %d MiB, %v; want ≥ %v, %d MiB", d, mem, err, c.req.Runtime(), c.wantMiB)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, _, err := Execute(ctx, Request{RuntimeUs: 10_000_000}); err == nil {
		t.Fatal("a canceled invocation ran to the end")
	}
}

func TestPoolServesPodsOnTheirLoopbackAddresses(t *testing.T) {
	p := NewPool()
	defer p.Close()
	ips := []netip.Addr{netip.MustParseAddr("10.201.3.4"), netip.MustParseAddr("10.201.3.5")}
	for i, ip := range ips {
		if err := p.Start(testPod("ns", []string{"a", "b"}[i]), ip); err != nil {
			t.Fatalf("start: %v", err)
		}
	}
	if err := p.Start(testPod("ns", "a"), ips[0]); err != nil || p.Len() != 2 {
		t.Fatalf("restarting a running sandbox: %v, %d running", err, p.Len())
	}
	a, err := NewInstance("a", ips[0], nil, false)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := a.Invoke(context.Background(), gateway.Call{ID: "min0.inv0", Runtime: 15 * time.Millisecond, MemoryMiB: 128})
	if err != nil || reply.Duration < 15*time.Millisecond || reply.MemoryMiB != 128 {
		t.Fatalf("invoke = %+v, %v; want ≥ 15ms and 128 MiB", reply, err)
	}
	if _, err := a.Invoke(context.Background(), gateway.Call{Runtime: 2 * time.Minute}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("runtime over the loader's 60 s clamp: %v, want 400", err)
	}
	p.Stop("ns", "a")
	if _, err := a.Invoke(context.Background(), gateway.Call{Runtime: time.Millisecond}); err == nil {
		t.Fatal("a stopped sandbox still answers")
	}
	b, _ := NewInstance("b", ips[1], nil, true)
	if _, err := b.Invoke(context.Background(), gateway.Call{Runtime: time.Millisecond}); err != nil {
		t.Fatalf("stopping a took b down: %v", err)
	}
	if p.Len() != 1 {
		t.Fatalf("%d sandboxes running, want 1", p.Len())
	}
}

func TestStopLetsRunningInvocationsFinish(t *testing.T) {
	p := NewPool()
	defer p.Close()
	ip := netip.MustParseAddr("10.202.0.9")
	if err := p.Start(testPod("ns", "old"), ip); err != nil {
		t.Fatal(err)
	}
	in, _ := NewInstance("old", ip, nil, false)
	done := make(chan error, 1)
	go func() {
		_, err := in.Invoke(context.Background(), gateway.Call{ID: "min0.inv0", Runtime: 300 * time.Millisecond})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.Stop("ns", "old")
	// The address is free at once for a new pod (the node agent reuses IPs).
	if err := p.Start(testPod("ns", "new"), ip); err != nil {
		t.Fatalf("new pod on a stopped pod's address: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("running invocation cut by Stop: %v", err)
	}
	// The pooled connection to the old sandbox is gone; the next call
	// reaches the new one.
	if _, err := in.Invoke(context.Background(), gateway.Call{ID: "min0.inv1", Runtime: time.Millisecond}); err != nil {
		t.Fatalf("call after the address changed hands: %v", err)
	}
}

// TestPoolAnyPortSharesAddressesWithOtherProcesses: another process (a
// concurrent run on this machine) holds a pod's well-known address. A strict
// pool refuses the pod; an AnyPort pool serves it on a free port of the same
// loopback address and says where.
func TestPoolAnyPortSharesAddressesWithOtherProcesses(t *testing.T) {
	ip := netip.MustParseAddr("10.202.7.9")
	want, err := Addr(ip)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Start("elsewhere/pod", want)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	strict := NewPool()
	defer strict.Close()
	if err := strict.Start(testPod("ns", "a"), ip); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("strict pool on a taken address: %v, want address already in use", err)
	}

	p := NewPool()
	p.AnyPort = true
	defer p.Close()
	if err := p.Start(testPod("ns", "a"), ip); err != nil {
		t.Fatalf("AnyPort pool: %v", err)
	}
	got, ok := p.Addr("ns", "a")
	if !ok || got.Addr() != want.Addr() || got.Port() == want.Port() || got.Port() == 0 {
		t.Fatalf("Addr = %v, %v; want %s on another, bound port", got, ok, want.Addr())
	}
	if err := p.Start(testPod("ns", "a"), ip); err != nil || p.Len() != 1 {
		t.Fatalf("restarting a running sandbox: %v, %d running", err, p.Len())
	}
	reply, err := NewInstanceAt("a", got, nil, false).Invoke(context.Background(), gateway.Call{ID: "min0.inv0", Runtime: time.Millisecond})
	if err != nil || reply.Duration < time.Millisecond {
		t.Fatalf("invoke at %s = %+v, %v", got, reply, err)
	}
	if _, ok := p.Addr("ns", "missing"); ok {
		t.Fatal("Addr of a pod without a sandbox")
	}
}

// testPod is a plain (not Knative) pod namespace/name.
func testPod(namespace, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}
