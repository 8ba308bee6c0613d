package sandbox

import (
	"errors"
	"net/netip"
	"sync"
	"syscall"
)

// Pool runs the sandboxes of many pods: the node agent starts one when it is
// about to mark a pod Ready and stops it when it forgets the pod.
type Pool struct {
	// AnyPort lets a sandbox whose well-known port on its loopback address
	// is taken (by another kdbench process on this machine: a concurrent run
	// or test) listen on a free port of the same address; Addr tells which.
	// Only for pools whose callers learn the address from Addr (the
	// in-process front-end): a node agent's pool stays strict, since
	// gateways elsewhere compute the address from the pod IP.
	AnyPort bool

	mu      sync.Mutex
	servers map[string]*Server // by namespace/name
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{servers: map[string]*Server{}} }

// Start serves the sandbox of pod namespace/name with pod IP ip. Starting a
// pod that already serves on the same address is a no-op.
func (p *Pool) Start(namespace, name string, ip netip.Addr) error {
	addr, err := Addr(ip)
	if err != nil {
		return err
	}
	key := namespace + "/" + name
	p.mu.Lock()
	old := p.servers[key]
	p.mu.Unlock()
	if old != nil {
		if old.Addr() == addr || p.AnyPort && old.Addr().Addr() == addr.Addr() {
			return nil
		}
		p.Stop(namespace, name)
	}
	s, err := Start(key, addr)
	if err != nil && p.AnyPort && errors.Is(err, syscall.EADDRINUSE) {
		s, err = Start(key, netip.AddrPortFrom(addr.Addr(), 0))
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.servers[key]; cur != nil { // lost a race with another Start
		return s.Close()
	}
	p.servers[key] = s
	return nil
}

// DrainGrace bounds how long a stopped sandbox finishes its running
// invocations: the loader's longest runtime.
const DrainGrace = maxRuntime

// Stop stops the sandbox of pod namespace/name, if it runs: it takes no new
// invocations and its address is free at once, while running ones finish.
func (p *Pool) Stop(namespace, name string) {
	key := namespace + "/" + name
	p.mu.Lock()
	s := p.servers[key]
	delete(p.servers, key)
	p.mu.Unlock()
	if s != nil {
		s.Drain(DrainGrace)
	}
}

// Addr is where the sandbox of pod namespace/name listens, if it runs.
func (p *Pool) Addr(namespace, name string) (netip.AddrPort, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.servers[namespace+"/"+name]
	if s == nil {
		return netip.AddrPort{}, false
	}
	return s.Addr(), true
}

// Len is the number of running sandboxes.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.servers)
}

// Close stops every sandbox.
func (p *Pool) Close() {
	p.mu.Lock()
	all := p.servers
	p.servers = map[string]*Server{}
	p.mu.Unlock()
	for _, s := range all {
		_ = s.Close()
	}
}
