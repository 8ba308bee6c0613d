// Package freeport picks listening ports for the processes kdbench starts.
//
// A port is picked before the process that will listen on it starts, so
// something else can take it meanwhile. Asking the kernel for port 0 hands
// out ports from the ephemeral range, the same range every outgoing
// connection on this machine draws from (an API server's clients open
// thousands): a picked port then often goes to a connection before its
// server binds it. Picking at random below that range leaves only other
// pickers to race with, and they rarely land on the same port.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the least port picked: above the well-known and most
// registered service ports.
const lowest = 10000

// Port returns a port that nothing listens on at host now, chosen at random
// below the kernel's ephemeral range.
func Port(host string) (int, error) {
	hi := ephemeralStart() - 1
	var last error
	for i := 0; i < 64; i++ {
		p := lowest + rand.IntN(hi-lowest+1)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			last = err
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port on %s in %d-%d after 64 tries: %w", host, lowest, hi, last)
}

// Addr is Port as host:port.
func Addr(host string) (string, error) {
	p, err := Port(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// ephemeralStart reads the start of Linux's ephemeral port range; the
// kernel default where it cannot be read.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= lowest+1000 {
		return 32768
	}
	return n
}
