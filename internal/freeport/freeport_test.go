package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeIsBelowEphemeralAndBindable(t *testing.T) {
	hi := ephemeralStart()
	for i := 0; i < 20; i++ {
		p, err := Port("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p < lowest || p >= hi {
			t.Fatalf("port %d outside [%d, %d)", p, lowest, hi)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("picked port %d cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

func TestAddr(t *testing.T) {
	a, err := Addr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host != "127.0.0.1" || port == "" {
		t.Fatalf("FreeAddr = %q, %v", a, err)
	}
}
