package sandbox

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// Pool runs the sandboxes of many pods: the node agent starts one when it is
// about to mark a pod Ready and stops it when it forgets the pod.
type Pool struct {
	// AnyPort lets a sandbox whose well-known port on its loopback address
	// is taken (by another kdbench process on this machine: a concurrent run
	// or test) listen on a free port of the same address; Addr tells which.
	// Only for pools whose callers learn the address from Addr (the
	// in-process front-end): a node agent's pool stays strict, since
	// gateways elsewhere compute the address from the pod IP. Knative pods
	// are always strict: the activator dials their IP and Knative's ports.
	AnyPort bool
	// Netns, if set, is the network namespace (a path under /run/netns)
	// where Knative pods are served: there the pod CIDR is local (real
	// Knative's pods namespace, docs/knative.md), while the pool's owner
	// stays in its own. Set before the first Start.
	Netns string

	netOnce sync.Once
	knNet   *podNet
	mu      sync.Mutex
	servers map[string]*podSandbox // by namespace/name
}

// podSandbox is one pod's: its user container, and for a Knative pod its
// queue-proxy in front.
type podSandbox struct {
	user  *Server
	queue *QueueProxy
}

func (s *podSandbox) drain() {
	if s.queue != nil {
		s.queue.Drain(DrainGrace)
	}
	s.user.Drain(DrainGrace)
}

func (s *podSandbox) close() {
	if s.queue != nil {
		s.queue.Close()
	}
	_ = s.user.Close()
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{servers: map[string]*podSandbox{}} }

// Start serves the sandbox of pod with pod IP ip. A Knative pod
// (KnativeQueue) is served at ip itself: its user container on its user
// port and its queue-proxy on Knative's ports, and an ip this machine cannot
// bind is an error. Any other pod is served on ip's loopback address (Addr).
// Starting a pod that already serves on the same address is a no-op.
func (p *Pool) Start(pod *corev1.Pod, ip netip.Addr) error {
	qc, knative := KnativeQueue(pod)
	var addr netip.AddrPort
	if knative {
		addr = netip.AddrPortFrom(ip, uint16(qc.UserPort))
	} else {
		var err error
		if addr, err = Addr(ip); err != nil {
			return err
		}
	}
	key := pod.Namespace + "/" + pod.Name
	p.mu.Lock()
	old := p.servers[key]
	p.mu.Unlock()
	if old != nil {
		if old.user.Addr() == addr || !knative && p.AnyPort && old.user.Addr().Addr() == addr.Addr() {
			return nil
		}
		p.Stop(pod.Namespace, pod.Name)
	}
	s, err := p.start(key, addr, knative, qc)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.servers[key]; cur != nil { // lost a race with another Start
		s.close()
		return nil
	}
	p.servers[key] = s
	return nil
}

// knativeNet is where Knative pods are served.
func (p *Pool) knativeNet() *podNet {
	p.netOnce.Do(func() {
		p.knNet = hostNet
		if p.Netns != "" {
			p.knNet = newPodNet(p.Netns)
		}
	})
	return p.knNet
}

func (p *Pool) start(key string, addr netip.AddrPort, knative bool, qc QueueConfig) (*podSandbox, error) {
	n := hostNet
	if knative {
		n = p.knativeNet()
	}
	user, err := startWith(key, addr, n.listen)
	if err != nil && !knative && p.AnyPort && errors.Is(err, syscall.EADDRINUSE) {
		user, err = Start(key, netip.AddrPortFrom(addr.Addr(), 0))
	}
	if knative && errors.Is(err, syscall.EADDRNOTAVAIL) {
		where := "this machine's own network namespace"
		if p.Netns != "" {
			where = "network namespace " + p.Netns
		}
		return nil, fmt.Errorf("sandbox: Knative pod %s (revision %q): its IP %s is not an address in %s, and Knative's activator and autoscaler dial pods at their own IPs: "+
			"serve Knative pods in real Knative's pods namespace (node agent --pod-netns, docs/knative.md), where the pod CIDR is local: %w", key, qc.Revision, addr.Addr(), where, err)
	}
	if err != nil {
		return nil, err
	}
	s := &podSandbox{user: user}
	if knative {
		if s.queue, err = startQueueProxy(key, addr.Addr(), qc, n, true); err != nil {
			_ = user.Close()
			return nil, err
		}
	}
	return s, nil
}

// DrainGrace bounds how long a stopped sandbox finishes its running
// invocations: the loader's longest runtime.
const DrainGrace = maxRuntime

// Stop stops the sandbox of pod namespace/name, if it runs: it takes no new
// invocations and its addresses are free at once, while running ones finish.
func (p *Pool) Stop(namespace, name string) {
	key := namespace + "/" + name
	p.mu.Lock()
	s := p.servers[key]
	delete(p.servers, key)
	p.mu.Unlock()
	if s != nil {
		s.drain()
	}
}

// Addr is where the user container of pod namespace/name listens, if it
// runs.
func (p *Pool) Addr(namespace, name string) (netip.AddrPort, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.servers[namespace+"/"+name]
	if s == nil {
		return netip.AddrPort{}, false
	}
	return s.user.Addr(), true
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
	p.servers = map[string]*podSandbox{}
	p.mu.Unlock()
	for _, s := range all {
		s.close()
	}
}
