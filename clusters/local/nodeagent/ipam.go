package nodeagent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// parseRange parses an IPv4 CIDR that simulated addresses may come from: not loopback
// (EndpointSlice validation drops loopback addresses), not link-local or multicast.
func parseRange(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %v", s, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not IPv4", s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
	}
	a := p.Addr()
	switch {
	case a.IsLoopback() || p.Contains(netip.MustParseAddr("127.0.0.1")):
		return netip.Prefix{}, fmt.Errorf("%q holds loopback addresses", s)
	case a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() && p.Bits() > 0:
		return netip.Prefix{}, fmt.Errorf("%q is not a unicast range", s)
	case p.Bits() == 0:
		return netip.Prefix{}, fmt.Errorf("%q is the whole address space", s)
	}
	return p, nil
}

func addrToUint(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func uintToAddr(u uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b)
}

// podCIDRs splits a base range into equal per-node subnets.
type podCIDRs struct {
	base netip.Prefix
	bits int
}

func newPodCIDRs(base string, maskSize, nodes, maxPods int) (podCIDRs, error) {
	p, err := parseRange(base)
	if err != nil {
		return podCIDRs{}, err
	}
	if maskSize <= p.Bits() || maskSize > 30 {
		return podCIDRs{}, fmt.Errorf("node mask /%d must be longer than %s and at most /30", maskSize, p)
	}
	if avail := uint64(1) << (maskSize - p.Bits()); uint64(nodes) > avail {
		return podCIDRs{}, fmt.Errorf("%s holds %d /%d subnets, fewer than %d nodes", p, avail, maskSize, nodes)
	}
	if usable := (1 << (32 - maskSize)) - reservedPerSubnet; usable < maxPods {
		return podCIDRs{}, fmt.Errorf("a /%d holds %d pod addresses, fewer than max pods %d", maskSize, usable, maxPods)
	}
	return podCIDRs{base: p, bits: maskSize}, nil
}

func (c podCIDRs) subnet(i int) netip.Prefix {
	start := addrToUint(c.base.Addr()) + uint32(i)<<(32-c.bits)
	return netip.PrefixFrom(uintToAddr(start), c.bits)
}

// nodeIPs hands out consecutive host addresses of a range as node InternalIPs.
type nodeIPs struct{ base netip.Prefix }

func newNodeIPs(r string, nodes int) (nodeIPs, error) {
	p, err := parseRange(r)
	if err != nil {
		return nodeIPs{}, err
	}
	if avail := (uint64(1) << (32 - p.Bits())) - 2; uint64(nodes) > avail {
		return nodeIPs{}, fmt.Errorf("%s holds %d host addresses, fewer than %d nodes", p, avail, nodes)
	}
	return nodeIPs{base: p}, nil
}

func (n nodeIPs) ip(i int) netip.Addr {
	return uintToAddr(addrToUint(n.base.Addr()) + uint32(i) + 1)
}

// reservedPerSubnet: the network address, the gateway (.1, as host-local IPAM and
// kubenet's bridge use it) and the broadcast address are never handed to pods.
const reservedPerSubnet = 3

var errExhausted = errors.New("pod CIDR exhausted")

// ipAllocator hands out the pod IPs of one node's subnet. It allocates next-fit (like
// host-local IPAM) so that a released address is not reused at once, which keeps a
// deleted pod's IP from reappearing on a new pod while watchers still hold the old one.
// It is not safe for concurrent use; the lifecycle's lock guards it.
type ipAllocator struct {
	subnet netip.Prefix
	first  uint32   // first assignable address
	size   uint32   // number of assignable addresses
	used   []uint64 // bitmap over [first, first+size)
	next   uint32   // offset where the next search starts
	inUse  int
}

func newIPAllocator(subnet netip.Prefix) *ipAllocator {
	total := uint32(1) << (32 - subnet.Bits())
	size := total - reservedPerSubnet
	return &ipAllocator{
		subnet: subnet,
		first:  addrToUint(subnet.Addr()) + 2,
		size:   size,
		used:   make([]uint64, (size+63)/64),
	}
}

func (a *ipAllocator) allocate() (netip.Addr, error) {
	if a.inUse >= int(a.size) {
		return netip.Addr{}, fmt.Errorf("%w: all %d addresses of %s in use", errExhausted, a.size, a.subnet)
	}
	for i := uint32(0); i < a.size; i++ {
		off := (a.next + i) % a.size
		if a.used[off/64]&(1<<(off%64)) == 0 {
			a.used[off/64] |= 1 << (off % 64)
			a.inUse++
			a.next = (off + 1) % a.size
			return uintToAddr(a.first + off), nil
		}
	}
	// Unreachable while inUse counts the bitmap correctly.
	return netip.Addr{}, fmt.Errorf("%w: %s", errExhausted, a.subnet)
}

// offset returns ip's bit in the bitmap, or false if ip is not assignable here.
func (a *ipAllocator) offset(ip netip.Addr) (uint32, bool) {
	if !ip.Is4() || !a.subnet.Contains(ip) {
		return 0, false
	}
	u := addrToUint(ip)
	if u < a.first || u >= a.first+a.size {
		return 0, false
	}
	return u - a.first, true
}

// reserve marks ip used (a pod that already had it when the agent started); it reports
// false if ip is not assignable here or already taken.
func (a *ipAllocator) reserve(ip netip.Addr) bool {
	off, ok := a.offset(ip)
	if !ok || a.used[off/64]&(1<<(off%64)) != 0 {
		return false
	}
	a.used[off/64] |= 1 << (off % 64)
	a.inUse++
	return true
}

func (a *ipAllocator) release(ip netip.Addr) {
	off, ok := a.offset(ip)
	if !ok || a.used[off/64]&(1<<(off%64)) == 0 {
		return
	}
	a.used[off/64] &^= 1 << (off % 64)
	a.inUse--
}
