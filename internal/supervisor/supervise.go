package supervisor

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The lifeline protocol between a harness and `kdbench internal supervise`
// on a remote host, one line each way per message over the SSH session:
//
//	supervisor → harness   pid <pid>             the process started
//	                       ok | error <why>      a signal took effect, or not
//	                       exit <how>            the process ended
//	harness → supervisor   signal <number>       SignalGroup
//
// When the harness's side closes (it exited, was killed, the network
// dropped), the supervisor stops the process's group.
const (
	linePID    = "pid"
	lineOK     = "ok"
	lineError  = "error"
	lineExit   = "exit"
	lineSignal = "signal"
)

// Supervise starts s (Attached), reports its pid on out, carries out the
// signals read from in, and stops the group (SIGTERM, grace, SIGKILL) when
// in ends. It returns when the process is gone.
func Supervise(s Spec, grace time.Duration, in io.Reader, out io.Writer) error {
	s.Attached = true
	p, err := Start(s)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
	say("%s %d", linePID, p.PID)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			verb, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			if verb != lineSignal {
				say("%s unknown request %q", lineError, sc.Text())
				continue
			}
			n, err := strconv.Atoi(arg)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err = p.Signal(ctx, syscall.Signal(n))
				cancel()
			}
			if err != nil {
				say("%s %s", lineError, oneLine(err))
			} else {
				say(lineOK)
			}
		}
	}()
	select {
	case <-p.Done():
	case <-closed:
		p.Stop(grace)
	}
	<-p.Done()
	say("%s %v", lineExit, oneLine(p.Err()))
	return nil
}

func oneLine(err error) string {
	if err == nil {
		return "status 0"
	}
	return strings.ReplaceAll(err.Error(), "\n", " | ")
}

// Client is the harness's end of a lifeline: it reads what the remote
// supervisor says and sends it signals.
type Client struct {
	w       io.Writer
	mu      sync.Mutex // one signal at a time
	replies chan error
	pid     chan int
	done    chan struct{}
	exit    string
}

// NewClient reads the supervisor's lines from r (its stdout) and writes
// requests to w (its stdin). Done closes when the supervisor reports the
// process's exit or r ends.
func NewClient(r io.Reader, w io.Writer) *Client {
	c := &Client{w: w, replies: make(chan error, 1), pid: make(chan int, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			verb, arg, _ := strings.Cut(sc.Text(), " ")
			switch verb {
			case linePID:
				n, _ := strconv.Atoi(arg)
				c.pid <- n
			case lineOK:
				c.reply(nil)
			case lineError:
				c.reply(errors.New(arg))
			case lineExit:
				c.exit = arg
				return
			}
		}
		c.exit = "the supervisor's session ended"
		if err := sc.Err(); err != nil {
			c.exit += ": " + err.Error()
		}
	}()
	return c
}

// reply hands a signal's outcome to its waiter, never blocking the reader
// (a waiter that gave up leaves its reply behind; Signal drains it).
func (c *Client) reply(err error) {
	select {
	case c.replies <- err:
	default:
	}
}

// PID waits for the started process's pid.
func (c *Client) PID(ctx context.Context) (int, error) {
	select {
	case n := <-c.pid:
		return n, nil
	case <-c.done:
		return 0, fmt.Errorf("did not start: %s", c.exit)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Signal asks the supervisor to signal the group and waits until it did.
func (c *Client) Signal(ctx context.Context, sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return fmt.Errorf("%v: not running (%s)", sig, c.exit)
	default:
	}
	select { // a late reply to a request whose waiter gave up
	case <-c.replies:
	default:
	}
	if _, err := fmt.Fprintf(c.w, "%s %d\n", lineSignal, int(sig)); err != nil {
		return err
	}
	select {
	case err := <-c.replies:
		return err
	case <-c.done:
		if sig == syscall.SIGKILL {
			return nil
		}
		return fmt.Errorf("%v: the process ended (%s)", sig, c.exit)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done closes when the process ended or the session did.
func (c *Client) Done() <-chan struct{} { return c.done }

// Exit is how the process ended, once Done is closed.
func (c *Client) Exit() string {
	select {
	case <-c.done:
		return c.exit
	default:
		return ""
	}
}

// SuperviseArgs are the arguments of `kdbench internal supervise` for s:
//
//	--name N --log L [--dir D] [--grace G] -- path args...
func SuperviseArgs(s Spec, grace time.Duration) []string {
	out := []string{"--name=" + s.Name, "--log=" + s.Log}
	if s.Dir != "" {
		out = append(out, "--dir="+s.Dir)
	}
	if grace > 0 {
		out = append(out, "--grace="+grace.String())
	}
	return append(append(out, "--", s.Path), s.Args...)
}

// ParseSuperviseArgs reads SuperviseArgs back.
func ParseSuperviseArgs(args []string) (Spec, time.Duration, error) {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var s Spec
	fs.StringVar(&s.Name, "name", "", "the component's name")
	fs.StringVar(&s.Log, "log", "", "its log file")
	fs.StringVar(&s.Dir, "dir", "", "its working directory")
	grace := fs.Duration("grace", 10*time.Second, "SIGTERM to SIGKILL")
	if err := fs.Parse(args); err != nil {
		return s, 0, fmt.Errorf("supervise: %w", err)
	}
	rest := fs.Args()
	if s.Name == "" || s.Log == "" || len(rest) == 0 {
		return s, 0, errors.New("supervise: want --name N --log L -- command [args...]")
	}
	s.Path, s.Args = rest[0], rest[1:]
	return s, *grace, nil
}
