package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kdbench/kdbench/internal/procid"
)

// Check reports nil once the process with that pid serves.
type Check func(ctx context.Context, pid int) error

// Watch is what WaitFor needs of a process, wherever it runs (a remote
// one is watched through its supervisor's lifeline).
type Watch struct {
	Name string
	PID  int
	Log  string
	// Done closes when the process ends; nil for a process kdbench did not
	// start, whose Alive is polled instead.
	Done    <-chan struct{}
	Alive   func() bool
	Err     func() error // how it ended, if known
	LogTail func(n int) string
}

// WaitHealthy polls check until it succeeds, the process exits, or timeout
// or ctx ends. Errors name the process and its log, with the log's tail.
func WaitHealthy(ctx context.Context, p *Process, check Check, timeout time.Duration) error {
	return WaitFor(ctx, Watch{Name: p.Name, PID: p.PID, Log: p.Log, Done: p.Done(), Alive: p.Alive, Err: p.Err, LogTail: p.LogTail}, check, timeout)
}

// WaitFor is WaitHealthy for any watched process.
func WaitFor(ctx context.Context, w Watch, check Check, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	exited := func() error {
		how := ""
		if w.Err != nil {
			how = fmt.Sprintf(" (%v)", w.Err())
		}
		return fmt.Errorf("%s exited during start-up%s; see %s:\n%s", w.Name, how, w.Log, w.LogTail(15))
	}
	for {
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		last := check(hctx, w.PID)
		hcancel()
		if last == nil {
			return nil
		}
		select {
		case <-w.Done:
			return exited()
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s not healthy after %s (last check: %v); see %s:\n%s", w.Name, timeout, last, w.Log, w.LogTail(15))
			}
			return fmt.Errorf("%s: start-up interrupted: %w", w.Name, ctx.Err())
		case <-tick.C:
			if w.Done == nil && !w.Alive() {
				return exited()
			}
		}
	}
}

// HTTPOK GETs url and wants 200; with pid > 0 (a kdbench component, which
// names its process: procid) the answer must also come from process pid,
// not from another that took the port picked for it.
func HTTPOK(ctx context.Context, c *http.Client, url string, pid int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if pid > 0 {
		if err := procid.Check(resp, pid); err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// HTTPCheck is a Check that wants 200 from url answered by the process itself.
func HTTPCheck(c *http.Client, url string) Check {
	return func(ctx context.Context, pid int) error { return HTTPOK(ctx, c, url, pid) }
}

// Exited names the processes of ps, except one, that no longer run, with
// their logs' tails: a process that is not ready often waits on one that
// died.
func Exited(ps []*Process, except *Process) error {
	var errs []error
	for _, p := range ps {
		if p != except && !p.Alive() {
			errs = append(errs, p.ExitError("exited"))
		}
	}
	return errors.Join(errs...)
}
