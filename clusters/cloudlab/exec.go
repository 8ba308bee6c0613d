package cloudlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Running one command on a node: the script it gets, its log entry, and
// what an error says about it.

// result is one command's outcome and the tail of what it printed.
type result struct {
	err  error
	tail *tailBuffer
}

func (res result) describe(cmd string, err error) error {
	first, _, _ := strings.Cut(strings.TrimSpace(cmd), "\n")
	msg := fmt.Sprintf("%v\n  command: %s", err, first)
	if t := res.tail.String(); t != "" {
		msg += "\n  output (last lines):\n    " + strings.ReplaceAll(strings.TrimRight(t, "\n"), "\n", "\n    ")
	}
	return errors.New(msg)
}

// exec runs one command of step s on n, logging the script and its output.
// If capture is set, stdout goes there and not to the log (fetched files
// hold keys); exports are still logged, being public.
func (r *runner) exec(ctx context.Context, c conn, n Node, s Step, action, cmd string, upload io.Reader, log io.Writer, capture *bytes.Buffer) result {
	script := r.script(n, s, action, cmd)
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	tail := &tailBuffer{max: 20}
	stdout := io.MultiWriter(log, tail)
	if capture != nil {
		stdout = capture
		if s.Export != "" {
			stdout = io.MultiWriter(capture, log)
		}
	}
	stderr := io.MultiWriter(log, tail)
	fmt.Fprintf(log, "=== %s %s %s\n%s\n--- output\n", now().Format(time.RFC3339), s.Name, action, script)
	if s.Fetch != "" {
		fmt.Fprintf(log, "(stdout goes to %s, not to this log)\n", r.dir.File(s.Fetch))
	}
	start := time.Now()
	var err error
	if upload != nil {
		err = c.run(ctx, remoteUpload+shellQuote(script), upload, stdout, stderr)
	} else {
		err = c.run(ctx, remoteScript, strings.NewReader(script), stdout, stderr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s", s.Timeout)
	}
	code := "exit 0"
	if st, ok := exitStatus(err); ok {
		code = fmt.Sprintf("exit %d", st)
	} else if err != nil {
		code = "error: " + err.Error()
	}
	fmt.Fprintf(log, "\n--- %s after %s\n", code, time.Since(start).Round(time.Millisecond))
	return result{err: err, tail: tail}
}

// script is what bash runs: a marker naming the step, strict mode, the
// node's variables, the secrets and exports the step needs, the command.
func (r *runner) script(n Node, s Step, action, cmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kdbench step=%s action=%s\nset -euo pipefail\n", s.Name, action)
	vars := r.plan.Env(n)
	for _, name := range s.Secrets {
		vars = append(vars, [2]string{name, r.secrets[name]})
	}
	r.mu.Lock()
	names := make([]string, 0, len(r.exports))
	for k := range r.exports {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vars = append(vars, [2]string{k, r.exports[k]})
	}
	r.mu.Unlock()
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	b.WriteString(cmd)
	b.WriteString("\n")
	return b.String()
}

// shellQuote single-quotes s for bash.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// tailBuffer keeps the last max lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(p)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := strings.Join(t.lines, "\n")
	if t.part != "" {
		if out != "" {
			out += "\n"
		}
		out += t.part
	}
	return out
}
