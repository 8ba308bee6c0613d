package nodeagent

import (
	"errors"
	"net/netip"
	"testing"
)

func TestPodCIDRSubnets(t *testing.T) {
	tests := []struct {
		base  string
		mask  int
		index int
		want  string
	}{
		{"10.128.0.0/9", 24, 0, "10.128.0.0/24"},
		{"10.128.0.0/9", 24, 1, "10.128.1.0/24"},
		{"10.128.0.0/9", 24, 1999, "10.135.207.0/24"},
		{"10.128.0.0/9", 24, 32767, "10.255.255.0/24"},
		{"10.0.0.0/8", 23, 3, "10.0.6.0/23"},
	}
	for _, tt := range tests {
		c, err := newPodCIDRs(tt.base, tt.mask, tt.index+1, 110)
		if err != nil {
			t.Fatalf("%s /%d: %v", tt.base, tt.mask, err)
		}
		if got := c.subnet(tt.index).String(); got != tt.want {
			t.Errorf("subnet(%s /%d, %d) = %s, want %s", tt.base, tt.mask, tt.index, got, tt.want)
		}
	}
}

func TestNodeIPs(t *testing.T) {
	n, err := newNodeIPs("172.16.0.0/12", 2000)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]string{0: "172.16.0.1", 1: "172.16.0.2", 255: "172.16.1.0", 1999: "172.16.7.208"} {
		if got := n.ip(i).String(); got != want {
			t.Errorf("ip(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestIPAllocator(t *testing.T) {
	sub := netip.MustParsePrefix("10.128.5.0/28") // 16 addresses, 13 assignable
	a := newIPAllocator(sub)
	seen := map[netip.Addr]bool{}
	for i := range 13 {
		ip, err := a.allocate()
		if err != nil {
			t.Fatalf("allocate #%d: %v", i, err)
		}
		switch {
		case seen[ip]:
			t.Fatalf("allocate #%d returned %s twice", i, ip)
		case !sub.Contains(ip) || ip.IsLoopback():
			t.Fatalf("allocate #%d returned %s, outside %s", i, ip, sub)
		case ip == sub.Addr() || ip.String() == "10.128.5.1" || ip.String() == "10.128.5.15":
			t.Fatalf("allocate #%d returned reserved %s", i, ip)
		}
		seen[ip] = true
	}
	if _, err := a.allocate(); !errors.Is(err, errExhausted) {
		t.Fatalf("allocate on a full subnet: err = %v, want errExhausted", err)
	}

	// Next-fit: a released address comes back only after the others.
	a.release(netip.MustParseAddr("10.128.5.4"))
	a.release(netip.MustParseAddr("10.128.5.9"))
	if ip, _ := a.allocate(); ip.String() != "10.128.5.4" {
		t.Errorf("after wrap-around got %s, want the first free 10.128.5.4", ip)
	}
	if ip, _ := a.allocate(); ip.String() != "10.128.5.9" {
		t.Errorf("then got %s, want 10.128.5.9", ip)
	}

	// Releasing foreign or free addresses is a no-op, reserve refuses them.
	a.release(netip.MustParseAddr("10.9.9.9"))
	if a.inUse != 13 {
		t.Errorf("inUse = %d after releasing a foreign address, want 13", a.inUse)
	}
	if a.reserve(netip.MustParseAddr("10.128.5.4")) {
		t.Error("reserve of a used address succeeded")
	}
	if a.reserve(netip.MustParseAddr("10.128.5.1")) {
		t.Error("reserve of the gateway address succeeded")
	}
	a.release(netip.MustParseAddr("10.128.5.7"))
	if !a.reserve(netip.MustParseAddr("10.128.5.7")) {
		t.Error("reserve of a free address failed")
	}
}

func TestIPAllocatorNextFitAvoidsImmediateReuse(t *testing.T) {
	a := newIPAllocator(netip.MustParsePrefix("10.128.0.0/24"))
	first, _ := a.allocate()
	a.release(first)
	second, _ := a.allocate()
	if second == first {
		t.Errorf("released %s was handed out again at once", first)
	}
}
