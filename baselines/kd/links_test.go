package kd

import (
	"io"
	"net"
	"testing"
	"time"
)

func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// reaches reports whether a byte sent to addr comes back.
func reaches(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{1}); err != nil {
		return false
	}
	_, err = io.ReadFull(c, make([]byte, 1))
	return err == nil
}

func TestProxyLinks(t *testing.T) {
	listen := map[string]string{}
	for _, h := range linkHops {
		listen[h] = echo(t)
	}
	for _, proxied := range []bool{false, true} {
		s := New("kd", 0, "")
		s.LinkProxies = proxied
		dial, err := s.proxyLinks(cpHost, listen)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range linkHops {
			if got := dial[h] != listen[h]; got != proxied {
				t.Errorf("proxies %v: %s dialled at %s, listens at %s", proxied, h, dial[h], listen[h])
			}
			if !reaches(dial[h]) {
				t.Errorf("proxies %v: %s unreachable at %s", proxied, h, dial[h])
			}
			if (s.Link(h) != nil) != proxied {
				t.Errorf("proxies %v: Link(%s) = %v", proxied, h, s.Link(h))
			}
		}
		if !proxied {
			continue
		}
		s.Link("scheduler").Cut()
		if reaches(dial["scheduler"]) || !reaches(dial["nodeagent"]) {
			t.Error("cutting the link into the scheduler cut another or none")
		}
		s.closeProxies()
		if reaches(dial["nodeagent"]) || s.Link("nodeagent") != nil {
			t.Error("proxies outlived the system")
		}
	}
}
