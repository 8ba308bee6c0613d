package kd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kdbench/kdbench/internal/procid"
)

// proc is one Kubedirect process, in its own process group (a terminal's
// Ctrl-C reaches only kdbench, which stops the group) and killed by the
// kernel if kdbench dies (Pdeathsig), like the local cluster's components.
type proc struct {
	name, log string
	bin       string
	args      []string
	cmd       *exec.Cmd
	done      chan struct{}
	err       error
}

func start(name, bin, logPath string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(f, "==== kdbench starting %s at %s: %s %s\n", name, time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, bin: bin, args: args, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM to the group, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// waitReady polls url until 200, the process exits or ctx ends.
func (p *proc) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			resp.Body.Close()
			// Only this process's answer counts: another may hold the port
			// picked for it (this one then exits, and the start is retried).
			err = procid.Check(resp, p.cmd.Process.Pid)
			if err == nil && resp.StatusCode == http.StatusOK {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up (%v); see %s:\n%s", p.name, p.err, p.log, tail(p.log, 15))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (last check: %v); see %s:\n%s", p.name, last, p.log, tail(p.log, 15))
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// exited reports the processes of procs but except that are no longer
// running, with their logs' tails: a hop that is not ready often waits on
// one that died.
func exited(procs []*proc, except *proc) error {
	var errs []error
	for _, p := range procs {
		if p != except && !p.alive() {
			errs = append(errs, fmt.Errorf("%s exited (%v); see %s:\n%s", p.name, p.err, p.log, tail(p.log, 15)))
		}
	}
	return errors.Join(errs...)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i, l := range lines { // a crash: its first lines say why
		if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			lines = lines[i:min(i+4*n, len(lines))]
			n = 4 * n
			break
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
