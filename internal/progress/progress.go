// Package progress shows how far a repetition has got: a live bar on a
// terminal, plain log lines every few seconds otherwise (CI logs stay short).
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar reports ready/total counts for one repetition.
type Bar interface {
	// Set records that n of the total are done.
	Set(n int)
	// Finish ends the bar (or prints the last line).
	Finish()
}

// New returns a bar writing to w: animated if w is a terminal.
func New(w io.Writer, title string, total int) Bar {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &ttyBar{bar: progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(title),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)}
	}
	return &lineBar{w: w, title: title, total: total, start: time.Now(), every: 2 * time.Second}
}

type ttyBar struct{ bar *progressbar.ProgressBar }

func (b *ttyBar) Set(n int) { _ = b.bar.Set(n) }
func (b *ttyBar) Finish()   { _ = b.bar.Finish() }

type lineBar struct {
	mu          sync.Mutex
	w           io.Writer
	title       string
	total, n    int
	start, last time.Time
	every       time.Duration
}

func (b *lineBar) Set(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n = n
	if now := time.Now(); now.Sub(b.last) >= b.every {
		b.last = now
		b.printLocked()
	}
}

func (b *lineBar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.printLocked()
}

func (b *lineBar) printLocked() {
	fmt.Fprintf(b.w, "%s: %d/%d (%s)\n", b.title, b.n, b.total, time.Since(b.start).Round(100*time.Millisecond))
}
