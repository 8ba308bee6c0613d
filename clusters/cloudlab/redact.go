package cloudlab

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

// redacted replaces every secret in logs, errors and progress output.
const redacted = "[REDACTED]"

// Redactor removes known secret values (the join token) from text. Every
// log, error and progress line of the bootstrap passes through one.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor redacts the given values; empty ones are ignored.
func NewRedactor(secrets ...string) *Redactor {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, redacted)
		}
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// String returns s without secrets.
func (r *Redactor) String(s string) string { return r.r.Replace(s) }

// Error returns err with its message redacted (nil stays nil).
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// Writer returns a writer that redacts whole lines before passing them to w,
// so that a secret split across two writes is still caught. It is safe for
// concurrent use (stdout and stderr of one command share it); Close flushes a
// last unterminated line.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser { return &redactWriter{r: r, w: w} }

type redactWriter struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = append(rw.buf, p...)
	i := bytes.LastIndexByte(rw.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	if _, err := io.WriteString(rw.w, rw.r.String(string(rw.buf[:i+1]))); err != nil {
		return 0, err
	}
	rw.buf = append(rw.buf[:0], rw.buf[i+1:]...)
	return len(p), nil
}

func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(rw.w, rw.r.String(string(rw.buf)))
	rw.buf = rw.buf[:0]
	return err
}
