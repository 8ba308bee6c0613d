package cloudlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// runner executes a plan: phase by phase, at most parallel nodes at a time,
// each node's steps in order. A node that fails is left out of later phases;
// a failed control plane stops the bootstrap after its phase.
type runner struct {
	plan     *Plan
	dir      workDir
	dial     func(context.Context, Node) (conn, error)
	parallel int
	secrets  map[string]string // variable → value, sent only to steps that name it
	redact   *Redactor
	state    *stateFile
	progress io.Writer // redacted, shared by all nodes
	backoff  wait.Backoff

	mu      sync.Mutex
	exports map[string]string // set by queries, read by later steps
	applied map[string]int    // node → steps this run applied
	conns   map[string]conn
	failed  map[string]error
}

// remote commands: scripts go to bash's stdin so that no secret shows in the
// node's process list; uploads need stdin for the data, and carry no secret.
const (
	remoteScript = "sudo -n bash -s"
	remoteUpload = "sudo -n bash -c "
)

func (r *runner) run(ctx context.Context) error {
	defer r.closeConns()
	r.failed = map[string]error{}
	r.exports = map[string]string{}
	r.applied = map[string]int{}
	for _, ph := range Phases() {
		r.exports[envNodesExpected] = strconv.Itoa(len(r.plan.Inventory.Nodes) - len(r.failed))
		if err := r.runPhase(ctx, ph); err != nil {
			return err
		}
		if _, ok := r.failed[r.plan.Inventory.ControlPlane().Name]; ok {
			break
		}
	}
	r.summary()
	return r.errs()
}

// summary prints one line per node: its steps done, how many this run
// applied, and where it stopped.
func (r *runner) summary() {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tDONE\tAPPLIED\tSTOPPED AT")
	r.state.mu.Lock()
	for _, n := range r.plan.Inventory.Nodes {
		steps := r.plan.StepsFor(n)
		done, stopped := 0, ""
		for _, s := range steps {
			switch st := r.state.s.Steps[n.Name][s.Name]; {
			case st.Status == statusDone:
				done++
			case stopped == "":
				stopped = s.Name
			}
		}
		r.mu.Lock()
		applied := r.applied[n.Name]
		r.mu.Unlock()
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\n", n.Name, n.Role, done, len(steps), applied, stopped)
	}
	r.state.mu.Unlock()
	tw.Flush()
	r.printf("%s", b.String())
}

func (r *runner) runPhase(ctx context.Context, ph Phase) error {
	type work struct {
		n     Node
		steps []Step
	}
	var todo []work
	for _, n := range r.plan.Inventory.Nodes {
		var steps []Step
		for _, s := range r.plan.StepsFor(n) {
			if s.Phase == ph {
				steps = append(steps, s)
			}
		}
		if len(steps) > 0 && !r.hasFailed(n.Name) {
			todo = append(todo, work{n, steps})
		}
	}
	if len(todo) == 0 {
		return ctx.Err()
	}
	r.printf("phase %s: %d nodes\n", ph, len(todo))
	sem := make(chan struct{}, r.parallel)
	var wg sync.WaitGroup
	for _, w := range todo {
		n, steps := w.n, w.steps
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := r.runNode(ctx, n, steps); err != nil {
				r.mu.Lock()
				r.failed[n.Name] = err
				r.mu.Unlock()
				first, _, _ := strings.Cut(err.Error(), "\n")
				r.printf("%s: FAILED: %s\n", n.Name, first)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (r *runner) hasFailed(node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.failed[node]
	return ok
}

// errs joins the nodes' failures, control plane first, then by node order.
// Only the first few are spelled out: when 70 workers fail alike, the
// first says why and the rest are names.
func (r *runner) errs() error {
	var out []error
	var more []string
	for _, n := range r.plan.Inventory.Nodes {
		if err, ok := r.failed[n.Name]; ok {
			if len(out) < maxDetailedErrors {
				out = append(out, err)
			} else {
				more = append(more, n.Name)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	if len(more) > 0 {
		out = append(out, fmt.Errorf("and %d more nodes: %s (see state.json)", len(more), strings.Join(more, ", ")))
	}
	return fmt.Errorf("%d of %d nodes failed (logs in %s):\n%w", len(r.failed), len(r.plan.Inventory.Nodes),
		r.dir.File("logs"), errors.Join(out...))
}

const maxDetailedErrors = 5

func (r *runner) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprint(r.progress, r.redact.String(fmt.Sprintf(format, args...)))
}

const dialAttempts = 3

func (r *runner) conn(ctx context.Context, n Node) (conn, error) {
	r.mu.Lock()
	c, ok := r.conns[n.Name]
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	// sshd may not be up yet on a node that just booted: retry a little.
	b := r.backoff
	var err error
	for attempt := 1; ; attempt++ {
		if c, err = r.dial(ctx, n); err == nil || attempt == dialAttempts {
			break
		}
		select {
		case <-time.After(b.Step()):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%d attempts)", err, dialAttempts)
	}
	r.mu.Lock()
	r.conns[n.Name] = c
	r.mu.Unlock()
	return c, nil
}

func (r *runner) closeConns() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = map[string]conn{}
}

// runNode runs steps on n: each step's check, then (only if it fails) its
// apply with retries, then the check again.
func (r *runner) runNode(ctx context.Context, n Node, steps []Step) error {
	lf, err := os.OpenFile(r.dir.Log(n.Name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	log := r.redact.Writer(lf)
	defer log.Close()
	fail := func(s Step, err error) error {
		return r.redact.Error(fmt.Errorf("node %s (%s): step %s: %w\n  log: %s", n.Name, n.Addr(), s.Name, err, r.dir.Log(n.Name)))
	}
	c, err := r.conn(ctx, n)
	if err != nil {
		return r.redact.Error(fmt.Errorf("node %s: %w", n.Name, err))
	}
	for _, s := range steps {
		start := time.Now()
		if s.Query() {
			if err := r.query(ctx, c, n, s, log); err != nil {
				_ = r.state.record(n.Name, s.Name, StepState{Status: statusFailed, Attempts: 1, Duration: since(start), At: now(), Error: fail(s, err).Error()})
				return fail(s, err)
			}
			continue
		}
		done, err := r.check(ctx, c, n, s, log)
		if err != nil {
			return fail(s, err)
		}
		if done {
			if err := r.state.record(n.Name, s.Name, StepState{Status: statusDone, Duration: since(start), At: now()}); err != nil {
				return err
			}
			continue
		}
		r.printf("%s: %s: applying\n", n.Name, s.Name)
		attempts, err := r.apply(ctx, c, n, s, log)
		st := StepState{Status: statusDone, Applied: true, Attempts: attempts, Duration: since(start), At: now()}
		if err != nil {
			err = fail(s, err)
			st.Status, st.Error = statusFailed, err.Error()
		}
		if serr := r.state.record(n.Name, s.Name, st); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.applied[n.Name]++
		r.mu.Unlock()
		r.printf("%s: %s: done in %s\n", n.Name, s.Name, st.Duration)
	}
	return nil
}

func now() time.Time           { return time.Now().UTC().Truncate(time.Second) }
func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
func isExit(err error) bool    { var e *ssh.ExitError; return errors.As(err, &e) }
func exitStatus(err error) (int, bool) {
	var e *ssh.ExitError
	if errors.As(err, &e) {
		return e.ExitStatus(), true
	}
	return 0, false
}

// check reports whether s is done on n; a transport error is an error, a
// non-zero exit is "not done".
func (r *runner) check(ctx context.Context, c conn, n Node, s Step, log io.Writer) (bool, error) {
	res := r.exec(ctx, c, n, s, "check", s.Check, nil, log, nil)
	if res.err != nil && !isExit(res.err) {
		return false, res.err
	}
	return res.err == nil, nil
}

// apply runs s's apply until its check passes, at most 1+Retries times,
// backing off between attempts. It returns the attempts made.
func (r *runner) apply(ctx context.Context, c conn, n Node, s Step, log io.Writer) (int, error) {
	b := r.backoff
	var err error
	for attempt := 1; ; attempt++ {
		res := r.execApply(ctx, c, n, s, log)
		if err = res.err; err == nil {
			var done bool
			if done, err = r.check(ctx, c, n, s, log); err == nil && !done {
				err = errors.New("apply succeeded but the check still fails")
			}
		} else {
			err = res.describe(s.Apply, err)
		}
		if err == nil || attempt > s.Retries || ctx.Err() != nil {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("failed after %d attempts: %w", attempt, err)
			}
			return attempt, err
		}
		d := b.Step()
		r.printf("%s: %s: attempt %d failed, retrying in %s\n", n.Name, s.Name, attempt, d.Round(time.Millisecond))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return attempt, ctx.Err()
		}
	}
}

// execApply runs s's apply once, streaming its upload, if any, to stdin.
func (r *runner) execApply(ctx context.Context, c conn, n Node, s Step, log io.Writer) result {
	if s.Upload == nil {
		return r.exec(ctx, c, n, s, "apply", s.Apply, nil, log, nil)
	}
	if len(s.Secrets) > 0 {
		// An upload's script travels in the command line, visible in ps.
		return result{err: fmt.Errorf("step %s uploads a file and cannot take secrets", s.Name), tail: &tailBuffer{}}
	}
	f, err := os.Open(s.Upload.Local)
	if err != nil {
		return result{err: err, tail: &tailBuffer{}}
	}
	defer f.Close()
	return r.exec(ctx, c, n, s, "apply", s.Apply, f, log, nil)
}

// query runs a read-only step and puts its output where the step says.
func (r *runner) query(ctx context.Context, c conn, n Node, s Step, log io.Writer) error {
	var out bytes.Buffer
	res := r.exec(ctx, c, n, s, "query", s.Apply, nil, log, &out)
	if res.err != nil {
		return res.describe(s.Apply, res.err)
	}
	switch {
	case s.Export != "":
		v := strings.TrimSpace(out.String())
		if v == "" {
			return fmt.Errorf("query printed nothing for $%s", s.Export)
		}
		r.mu.Lock()
		r.exports[s.Export] = v
		r.mu.Unlock()
	case s.Fetch != "":
		if err := fsutil.WriteFileAtomic(r.dir.File(s.Fetch), out.Bytes(), 0o600); err != nil {
			return err
		}
	}
	return r.state.record(n.Name, s.Name, StepState{Status: statusDone, At: now()})
}
