package sandbox

import (
	"fmt"
	"net/netip"
	"time"
)

// Port is where every sandbox listens on its loopback address.
const Port = 8080

// InvokePath is the sandbox's invocation endpoint (POST, JSON Request).
const InvokePath = "/invoke"

// Request asks a sandbox to run one invocation.
type Request struct {
	ID        string `json:"id"`
	RuntimeUs int64  `json:"runtimeUs"`
	MemoryMiB int32  `json:"memoryMiB"`
	// Spin busy-waits instead of sleeping.
	Spin bool `json:"spin,omitempty"`
	// Allocate touches MemoryMiB of memory for the invocation's duration.
	Allocate bool `json:"allocate,omitempty"`
}

// Response is what the sandbox measured.
type Response struct {
	// DurationUs is the execution time inside the sandbox.
	DurationUs int64 `json:"durationUs"`
	// MemoryMiB is the invocation's memory: recorded from the request, or
	// allocated when asked.
	MemoryMiB int64 `json:"memoryMiB"`
	// Pod names the sandbox's pod, namespace/name.
	Pod string `json:"pod"`
}

// Runtime returns the requested duration.
func (r Request) Runtime() time.Duration { return time.Duration(r.RuntimeUs) * time.Microsecond }

// Addr is the loopback address a pod's sandbox serves on: the pod IP's last
// three octets under 127/8.
func Addr(podIP netip.Addr) (netip.AddrPort, error) {
	if !podIP.Is4() {
		return netip.AddrPort{}, fmt.Errorf("sandbox: pod IP %s is not IPv4", podIP)
	}
	b := podIP.As4()
	if b[0] == 127 {
		return netip.AddrPort{}, fmt.Errorf("sandbox: pod IP %s is already loopback", podIP)
	}
	b[0] = 127
	return netip.AddrPortFrom(netip.AddrFrom4(b), Port), nil
}
