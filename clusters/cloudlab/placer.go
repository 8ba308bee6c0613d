package cloudlab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// RemoteKdbench is where the bootstrap installs kdbench on every node.
const RemoteKdbench = "/usr/local/bin/kdbench"

// Placer runs kdbench components on the inventory's hosts over SSH: one
// session per component running `kdbench internal supervise` on the host,
// whose stdin is the lifeline (docs/placement.md). When the harness exits,
// is killed, or loses the network, the sessions close and every remote
// supervisor stops its component's group.
type Placer struct {
	inv  Inventory
	dial func(context.Context, Node) (conn, error)
	// Kdbench is the kdbench executable on the hosts (RemoteKdbench).
	Kdbench string
	// Root is the hosts' directory for components' files and logs,
	// relative to the login's home unless absolute.
	Root string
	// Silence is how long a remote supervisor waits without a ping from
	// this harness before it stops its component (the harness pings every
	// Silence/4): a harness host that died, or a network that was cut,
	// closes nothing, and would otherwise leave the component running.
	Silence time.Duration

	mu    sync.Mutex
	conns map[string]conn // by node name: one connection, many sessions
}

// NewPlacer places components on inv's nodes through dial.
func NewPlacer(inv Inventory, dial func(context.Context, Node) (conn, error), root string) *Placer {
	return &Placer{inv: inv, dial: dial, Kdbench: RemoteKdbench, Root: root, Silence: 30 * time.Second, conns: map[string]conn{}}
}

// Hosts are the inventory's nodes, control plane first.
func (p *Placer) Hosts() []clusters.Host {
	var out []clusters.Host
	for _, n := range p.inv.Nodes {
		out = append(out, clusters.Host{Name: n.Name, Roles: []clusters.Role{clusters.Role(n.Role)}, Addr: n.IP})
	}
	return out
}

func (p *Placer) node(h clusters.Host) (Node, error) {
	for _, n := range p.inv.Nodes {
		if n.Name == h.Name {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("no host %q in the inventory", h.Name)
}

func (p *Placer) conn(ctx context.Context, n Node) (conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[n.Name]; ok {
		if c.lost() == nil {
			return c, nil
		}
		delete(p.conns, n.Name) // the host went away: try it afresh
	}
	c, err := p.dial(ctx, n)
	if err != nil {
		return nil, err
	}
	p.conns[n.Name] = c
	return c, nil
}

// Close closes every connection: each remote supervisor then stops its
// component.
func (p *Placer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, c := range p.conns {
		c.Close()
		delete(p.conns, name)
	}
	return nil
}

// Start writes c's files under Root/run/<name> on the host, then starts c
// there under a remote supervisor and returns once it runs.
func (p *Placer) Start(ctx context.Context, h clusters.Host, c clusters.Component) (clusters.Process, error) {
	fail := func(err error) (clusters.Process, error) {
		return nil, fmt.Errorf("%s on %s: %w", c.Name, h.Name, err)
	}
	n, err := p.node(h)
	if err != nil {
		return fail(err)
	}
	cn, err := p.conn(ctx, n)
	if err != nil {
		return fail(err)
	}
	dir := path.Join(p.Root, "run", c.Name)
	log := path.Join(p.Root, "logs", c.Name+".log")
	var script strings.Builder
	fmt.Fprintf(&script, "umask 077 && mkdir -p %s %s", shellQuote(dir), shellQuote(path.Dir(log)))
	if err := cn.run(ctx, script.String(), nil, io.Discard, io.Discard); err != nil {
		return fail(fmt.Errorf("creating %s: %w", dir, err))
	}
	for _, f := range c.Files {
		if path.IsAbs(f.Path) || strings.HasPrefix(path.Clean(f.Path), "..") {
			return fail(fmt.Errorf("file %q: want a path inside the component's directory", f.Path))
		}
		fp := path.Join(dir, f.Path)
		mode := f.Mode
		if mode == 0 {
			mode = 0o600
		}
		cmd := fmt.Sprintf("umask 077 && mkdir -p %s && cat > %s.tmp && chmod %o %s.tmp && mv -f %s.tmp %s",
			shellQuote(path.Dir(fp)), shellQuote(fp), mode, shellQuote(fp), shellQuote(fp), shellQuote(fp))
		var stderr bytes.Buffer
		if err := cn.run(ctx, cmd, bytes.NewReader(f.Data), io.Discard, &stderr); err != nil {
			return fail(fmt.Errorf("writing %s: %w: %s", fp, err, strings.TrimSpace(stderr.String())))
		}
	}
	bin := c.Path
	if bin == "" {
		bin = p.Kdbench
	}
	args := supervisor.SuperviseArgs(supervisor.Spec{Name: c.Name, Path: bin, Args: c.Args, Dir: dir, Log: log},
		supervisor.SuperviseOptions{Silence: p.Silence})
	line := []string{shellQuote(p.Kdbench), "internal", "supervise"}
	for _, a := range args {
		line = append(line, shellQuote(a))
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	rp := &remoteProcess{name: c.Name, host: h, log: log, placer: p, node: n, conn: cn, lifeline: inW, ended: make(chan struct{})}
	rp.client = supervisor.NewClient(outR, inW)
	if p.Silence > 0 {
		rp.client.Heartbeat(p.Silence / 4)
	}
	go func() {
		// The session outlives Start: it ends when the lifeline closes.
		rp.err = cn.run(context.Background(), strings.Join(line, " "), inR, outW, &rp.stderr)
		outW.Close()
		inR.Close()
		close(rp.ended)
	}()
	if rp.pid, err = rp.client.PID(ctx); err != nil {
		rp.Stop(0)
		<-rp.ended
		if lost := cn.lost(); lost != nil {
			err = fmt.Errorf("%w: lost the host: %v", err, lost)
		}
		return fail(fmt.Errorf("%w (%v): %s; its log on %s: %s", err, rp.err, strings.TrimSpace(rp.stderr.String()), h.Name, log))
	}
	return rp, nil
}

// remoteProcess is a component under a supervisor on another host.
type remoteProcess struct {
	name     string
	host     clusters.Host
	log      string
	placer   *Placer
	node     Node
	conn     conn // the session's connection
	client   *supervisor.Client
	lifeline io.Closer
	pid      int
	ended    chan struct{} // the session ended
	err      error
	stderr   syncBuffer
}

func (r *remoteProcess) Name() string          { return r.name }
func (r *remoteProcess) Host() clusters.Host   { return r.host }
func (r *remoteProcess) PID() int              { return r.pid }
func (r *remoteProcess) Done() <-chan struct{} { return r.client.Done() }
func (r *remoteProcess) Log() string           { return r.host.Name + ":" + r.log }

func (r *remoteProcess) Alive() bool {
	select {
	case <-r.client.Done():
		return false
	default:
		return true
	}
}

func (r *remoteProcess) Signal(ctx context.Context, sig syscall.Signal) error {
	if err := r.client.Signal(ctx, sig); err != nil {
		return fmt.Errorf("%s on %s: %w", r.name, r.host.Name, err)
	}
	return nil
}

// Stop asks for SIGTERM, waits up to grace, then closes the lifeline: the
// remote supervisor SIGKILLs what is left of the group.
func (r *remoteProcess) Stop(grace time.Duration) {
	if grace > 0 && r.Alive() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		if r.client.Signal(ctx, syscall.SIGTERM) == nil {
			select {
			case <-r.client.Done():
			case <-ctx.Done():
			}
		}
		cancel()
	}
	if r.Alive() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = r.client.Signal(ctx, syscall.SIGKILL)
		cancel()
	}
	r.lifeline.Close()
	select {
	case <-r.ended:
	case <-time.After(10 * time.Second):
	}
}

// LogTail fetches the log's last lines from the host; from a host that
// cannot be reached it says so and where the log stays.
func (r *remoteProcess) LogTail(n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cn, err := r.placer.conn(ctx, r.node)
		if err != nil {
			return fmt.Sprintf("    (host %s unreachable, so no log tail: %v; the log stays on %s at %s)", r.host.Name, err, r.host.Name, r.log)
		}
		var out, stderr bytes.Buffer
		err = cn.run(ctx, "tail -n "+strconv.Itoa(4*n)+" "+shellQuote(r.log), nil, &out, &stderr)
		if _, exited := exitStatus(err); err != nil && !exited && attempt == 0 {
			// If the connection broke (the host's sshd died) try a new
			// one, which says why not. One that still stands is never
			// closed here: other components' lifelines run on it.
			select {
			case <-cn.ended():
				continue
			case <-time.After(2 * time.Second):
			}
		}
		if err != nil {
			return fmt.Sprintf("    (no log tail from %s: %v: %s; the log is at %s)", r.host.Name, err, strings.TrimSpace(stderr.String()), r.Log())
		}
		return supervisor.Tail(out.String(), n)
	}
}

// Err says why the component no longer runs, naming it, its host and its
// log, with the log's tail: nil while it runs. A component whose host was
// lost (died, cut off) is reported as such: its supervisor there stops it
// once the harness has been silent for the placer's Silence.
func (r *remoteProcess) Err() error {
	select {
	case <-r.client.Done():
	default:
		return nil
	}
	how := "exited (" + r.client.Exit() + ")"
	if !r.reportedExit() {
		// The session ended first: give its connection a moment to end
		// too and say why.
		select {
		case <-r.conn.ended():
		case <-time.After(2 * time.Second):
		}
		how = "lost: its supervisor's session ended without reporting an exit (" + r.client.Exit() + ")"
		if lost := r.conn.lost(); lost != nil {
			how = fmt.Sprintf("lost: the connection to its host ended: %v", lost)
		}
	}
	return fmt.Errorf("%s on %s %s; log %s:\n%s", r.name, r.host.Name, how, r.Log(), r.LogTail(15))
}

// reportedExit: the remote supervisor itself said the component ended.
func (r *remoteProcess) reportedExit() bool {
	return !strings.HasPrefix(r.client.Exit(), supervisor.SessionEnded)
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
