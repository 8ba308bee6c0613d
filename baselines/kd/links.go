package kd

import (
	"net"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/fault"
)

// linkHops are the hops with a link listener, each the downstream end of one
// link: autoscaler → deployment → replicaset → scheduler → nodeagent.
var linkHops = []string{"deployment", "replicaset", "scheduler", "nodeagent"}

// proxyLinks returns the address each hop's upstream dials: its listen
// address, or with LinkProxies a fault.Proxy in front of it that the
// failover experiment cuts or slows (Link). Proxies outlive restarts of the
// hop behind them, which listens on the same address again.
func (s *System) proxyLinks(harness clusters.Host, listen map[string]string) (map[string]string, error) {
	dial := map[string]string{}
	for _, h := range linkHops {
		dial[h] = listen[h]
		if !s.LinkProxies {
			continue
		}
		// On the control-plane host, where the harness runs (docs/placement.md).
		p, err := fault.NewProxy(net.JoinHostPort(harness.Addr, "0"), listen[h])
		if err != nil {
			return nil, err
		}
		if s.proxies == nil {
			s.proxies = map[string]*fault.Proxy{}
		}
		s.proxies[h] = p
		dial[h] = p.Addr()
	}
	return dial, nil
}

// proxyAgent returns the address the scheduler dials for worker host h's
// node agent listening on listen: listen itself, or with LinkProxies a
// fault proxy of its own ("nodeagent.<host>") on the control-plane host.
func (s *System) proxyAgent(h clusters.Host, listen string) (string, error) {
	if !s.LinkProxies {
		return listen, nil
	}
	cp, err := clusters.ControlPlaneHost(s.placer)
	if err != nil {
		return "", err
	}
	p, err := fault.NewProxy(net.JoinHostPort(cp.Addr, "0"), listen)
	if err != nil {
		return "", err
	}
	s.proxies[nodeAgent+"."+h.Name] = p
	return p.Addr(), nil
}

// Link is the proxy of the link into hop (deployment, replicaset,
// scheduler, nodeagent), or nil without LinkProxies.
func (s *System) Link(hop string) *fault.Proxy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxies[hop]
}

func (s *System) closeProxies() {
	for h, p := range s.proxies {
		p.Close()
		delete(s.proxies, h)
	}
}

// SetLinkProxies turns LinkProxies on or off; it takes effect at the next
// Prepare. The failover experiment turns it on for every kd system.
func (s *System) SetLinkProxies(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.LinkProxies = on
}
