package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// Host is the local cluster's one host: control plane and worker.
var Host = clusters.Host{Name: "localhost", Roles: []clusters.Role{clusters.RoleControlPlane, clusters.RoleWorker}, Addr: "127.0.0.1"}

// placer starts components as attached processes of this kdbench, each in
// its own working directory under the cluster's run/ with its log in logs/.
type placer struct {
	run, logs string
	self      string // the kdbench executable

	mu    sync.Mutex
	procs []*supervisor.Process // for Down
}

func newPlacer(l layout, self string) *placer {
	return &placer{run: filepath.Join(l.Root(), "run"), logs: l.Logs(), self: self}
}

func (pl *placer) Hosts() []clusters.Host { return []clusters.Host{Host} }

func (pl *placer) Start(_ context.Context, h clusters.Host, c clusters.Component) (clusters.Process, error) {
	if h.Name != Host.Name {
		return nil, fmt.Errorf("%s: no host %q in a local cluster (only %s)", c.Name, h.Name, Host.Name)
	}
	dir := filepath.Join(pl.run, c.Name)
	if err := WriteFiles(dir, c.Files); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	path := c.Path
	if path == "" {
		path = pl.self
	}
	p, err := supervisor.Start(supervisor.Spec{Name: c.Name, Path: path, Args: c.Args, Dir: dir,
		Log: filepath.Join(pl.logs, c.Name+".log"), Attached: true})
	if err != nil {
		return nil, err
	}
	pl.mu.Lock()
	pl.procs = append(pl.procs, p)
	pl.mu.Unlock()
	return localProcess{p}, nil
}

// stopAll stops what the placer started and a system left running.
func (pl *placer) stopAll() {
	pl.mu.Lock()
	ps := pl.procs
	pl.procs = nil
	pl.mu.Unlock()
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Alive() { // a stopped one's group was killed with it
			ps[i].Stop(5 * time.Second)
		}
	}
}

// WriteFiles writes a component's files under dir (created 0700: they hold
// keys), each with its mode (default 0600).
func WriteFiles(dir string, files []clusters.File) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		if filepath.IsAbs(f.Path) || !filepath.IsLocal(f.Path) {
			return fmt.Errorf("file %q: want a path inside the component's directory", f.Path)
		}
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o600
		}
		if err := writeFileAtomic(p, f.Data, mode); err != nil {
			return err
		}
	}
	return nil
}

// localProcess is a supervised process on this host.
type localProcess struct{ p *supervisor.Process }

func (l localProcess) Name() string          { return l.p.Name }
func (l localProcess) Host() clusters.Host   { return Host }
func (l localProcess) PID() int              { return l.p.PID }
func (l localProcess) Alive() bool           { return l.p.Alive() }
func (l localProcess) Stop(g time.Duration)  { l.p.Stop(g) }
func (l localProcess) Log() string           { return l.p.Log }
func (l localProcess) LogTail(n int) string  { return l.p.LogTail(n) }
func (l localProcess) Done() <-chan struct{} { return l.p.Done() }
func (l localProcess) Signal(ctx context.Context, sig syscall.Signal) error {
	return l.p.Signal(ctx, sig)
}
