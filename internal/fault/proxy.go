package fault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections from its own address to a target. Put
// between two hops (the upstream dials the proxy instead of the downstream),
// it cuts or slows their link without either process knowing. It is
// transparent to TLS: the hops still authenticate each other end to end.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	cut    bool
	delay  time.Duration
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewProxy listens on listen (e.g. "127.0.0.1:0") and forwards to target.
func NewProxy(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("fault: proxy to %s: %w", target, err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where the upstream peer should dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut resets every forwarded connection and, until Restore, every new one:
// to both peers the link breaks as if the network dropped it.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		reset(c)
	}
}

// Restore lets new connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// SetDelay delays every byte forwarded from now on by d, each way.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

func (p *Proxy) currentDelay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay
}

// Close stops listening, closes every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.forward(down)
	}
}

// track registers c unless the proxy is cut or closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func (p *Proxy) forward(down net.Conn) {
	defer p.wg.Done()
	if !p.track(down) {
		reset(down)
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		if up != nil {
			reset(up)
		}
		p.untrack(down)
		reset(down) // the target is down: so is the link
		return
	}
	// Either direction ending ends both: a broken link is broken both ways.
	var once sync.Once
	stopped := make(chan struct{})
	stop := func() { once.Do(func() { close(stopped); down.Close(); up.Close() }) }
	done := make(chan struct{})
	go func() { p.pipe(up, down, stopped, stop); close(done) }()
	p.pipe(down, up, stopped, stop)
	<-done
	p.untrack(down, up)
}

type chunk struct {
	b  []byte
	at time.Time // when it may be written
}

// pipe copies src to dst, holding each chunk until it is the current delay
// old (so a delay adds latency without capping throughput).
func (p *Proxy) pipe(dst, src net.Conn, stopped <-chan struct{}, stop func()) {
	defer stop()
	ch := make(chan chunk, 64)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case ch <- chunk{buf[:n], time.Now().Add(p.currentDelay())}:
				case <-stopped:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		if d := time.Until(c.at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-stopped:
				t.Stop()
				return
			}
		}
		if _, err := dst.Write(c.b); err != nil {
			return
		}
	}
}

// reset closes c with an RST rather than a FIN, as a dropped link looks.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// LinkCut cuts a link at its proxy and restores it on Recover.
type LinkCut struct {
	Link  string // e.g. "replicaset→scheduler"
	Proxy *Proxy
}

func (l *LinkCut) String() string { return "cut " + l.Link }

// Inject cuts the link.
func (l *LinkCut) Inject(context.Context) error {
	if l.Proxy == nil {
		return errors.New("fault: cut " + l.Link + ": no proxy")
	}
	l.Proxy.Cut()
	return nil
}

// Recover lets the link's peers reconnect.
func (l *LinkCut) Recover(context.Context) error {
	l.Proxy.Restore()
	return nil
}

// LinkDelay adds latency to a link at its proxy and removes it on Recover.
type LinkDelay struct {
	Link  string
	Proxy *Proxy
	Delay time.Duration
}

func (l *LinkDelay) String() string { return fmt.Sprintf("delay %s by %v", l.Link, l.Delay) }

// Inject delays the link.
func (l *LinkDelay) Inject(context.Context) error {
	if l.Proxy == nil {
		return errors.New("fault: delay " + l.Link + ": no proxy")
	}
	l.Proxy.SetDelay(l.Delay)
	return nil
}

// Recover removes the delay (bytes already held still wait theirs out).
func (l *LinkDelay) Recover(context.Context) error {
	l.Proxy.SetDelay(0)
	return nil
}
