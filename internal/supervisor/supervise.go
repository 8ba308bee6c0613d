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
//	                       ping                  the harness is there (no reply)
//
// When the harness's side closes (it exited, was killed, the network
// dropped), the supervisor stops the process's group. A network that
// drops without closing anything (a host cut off, a harness host that
// died) leaves the session open until TCP gives up, which may be never:
// with Silence set, the harness pings and the supervisor stops the group
// when it has heard nothing for that long.
const (
	linePID    = "pid"
	lineOK     = "ok"
	lineError  = "error"
	lineExit   = "exit"
	lineSignal = "signal"
	linePing   = "ping"
)

// SuperviseOptions tune a remote supervisor.
type SuperviseOptions struct {
	// Grace is SIGTERM to SIGKILL when the group is stopped.
	Grace time.Duration
	// Silence, if set, stops the group when the harness sent nothing for
	// that long (it pings every Silence/4, Client.Heartbeat).
	Silence time.Duration
}

// Supervise starts s (Attached), reports its pid on out, carries out the
// signals read from in, and stops the group (SIGTERM, grace, SIGKILL) when
// in ends or stays silent for o.Silence. It returns when the process is gone.
func Supervise(s Spec, o SuperviseOptions, in io.Reader, out io.Writer) error {
	grace := o.Grace
	s.Attached = true
	p, err := Start(s)
	if err != nil {
		return err
	}
	heard := make(chan struct{}, 1)
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
			select {
			case heard <- struct{}{}:
			default:
			}
			verb, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			if verb == linePing {
				continue
			}
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
	var silent <-chan time.Time
	var timer *time.Timer
	if o.Silence > 0 {
		timer = time.NewTimer(o.Silence)
		defer timer.Stop()
		silent = timer.C
	}
	why := ""
wait:
	for {
		select {
		case <-p.Done():
			break wait
		case <-closed:
			p.Stop(grace)
			break wait
		case <-heard:
			if timer == nil {
				continue
			}
			if !timer.Stop() {
				<-timer.C
			}
			timer.Reset(o.Silence)
		case <-silent:
			why = fmt.Sprintf(" (stopped: the harness was silent for %s)", o.Silence)
			p.Stop(grace)
			break wait
		}
	}
	<-p.Done()
	say("%s %v%s", lineExit, oneLine(p.Err()), why)
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
	wmu     sync.Mutex // one line at a time
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
		c.exit = SessionEnded
		if err := sc.Err(); err != nil {
			c.exit += ": " + err.Error()
		}
	}()
	return c
}

// SessionEnded begins Client.Exit when the supervisor never reported an
// exit: its session (the connection to its host) ended first.
const SessionEnded = "the supervisor's session ended"

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
	if err := c.send(fmt.Sprintf("%s %d", lineSignal, int(sig))); err != nil {
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

func (c *Client) send(line string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := io.WriteString(c.w, line+"\n")
	return err
}

// Heartbeat pings the supervisor every interval until the process ended,
// so that one started with SuperviseOptions.Silence keeps running.
func (c *Client) Heartbeat(interval time.Duration) {
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				if c.send(linePing) != nil {
					return
				}
			}
		}
	}()
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
//	--name N --log L [--dir D] [--grace G] [--silence S] -- path args...
func SuperviseArgs(s Spec, o SuperviseOptions) []string {
	out := []string{"--name=" + s.Name, "--log=" + s.Log}
	if s.Dir != "" {
		out = append(out, "--dir="+s.Dir)
	}
	if o.Grace > 0 {
		out = append(out, "--grace="+o.Grace.String())
	}
	if o.Silence > 0 {
		out = append(out, "--silence="+o.Silence.String())
	}
	return append(append(out, "--", s.Path), s.Args...)
}

// ParseSuperviseArgs reads SuperviseArgs back.
func ParseSuperviseArgs(args []string) (Spec, SuperviseOptions, error) {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var s Spec
	fs.StringVar(&s.Name, "name", "", "the component's name")
	fs.StringVar(&s.Log, "log", "", "its log file")
	fs.StringVar(&s.Dir, "dir", "", "its working directory")
	var o SuperviseOptions
	fs.DurationVar(&o.Grace, "grace", 10*time.Second, "SIGTERM to SIGKILL")
	fs.DurationVar(&o.Silence, "silence", 0, "stop the group after this long without a word from the harness (0: never)")
	if err := fs.Parse(args); err != nil {
		return s, o, fmt.Errorf("supervise: %w", err)
	}
	rest := fs.Args()
	if s.Name == "" || s.Log == "" || len(rest) == 0 {
		return s, o, errors.New("supervise: want --name N --log L -- command [args...]")
	}
	s.Path, s.Args = rest[0], rest[1:]
	return s, o, nil
}
