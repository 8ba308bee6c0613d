package supervisor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/internal/procid"
)

func script(t *testing.T, body string) Spec {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "fake")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return Spec{Name: "fake", Path: p, Log: filepath.Join(dir, "fake.log"), Attached: true}
}

// group starts a shell that forks a sleep into its group and returns the
// process and the sleep's pid.
func group(t *testing.T, body string) (*Process, int) {
	t.Helper()
	s := script(t, body+`sleep 300 & echo $! > "$0.child"; while true; do sleep 1; done`)
	p, err := Start(s)
	require.NoError(t, err)
	t.Cleanup(func() { p.Stop(0) })
	var child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(s.Path + ".child")
		if err != nil {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	return p, child
}

func never(context.Context, int) error { return os.ErrNotExist }

func TestStartErrors(t *testing.T) {
	_, err := Start(Spec{Name: "etcd", Path: "/nonexistent/kdbench", Log: filepath.Join(t.TempDir(), "l")})
	require.ErrorContains(t, err, "etcd: binary /nonexistent/kdbench")
	_, err = Start(Spec{Name: "etcd", Path: "/bin/true", Log: "/nonexistent/dir/l"})
	require.ErrorContains(t, err, "etcd: opening log")
}

func TestWaitHealthy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, body string
		check      Check
		timeout    time.Duration
		want       []string
	}{
		{"exits during start-up", `echo "E0101 flag provided but not defined: -bogus" >&2; exit 1`, never, 30 * time.Second,
			[]string{"fake exited during start-up", "fake.log", "flag provided but not defined"}},
		{"panics", `echo starting; echo "panic: boom" >&2; echo "goroutine 1" >&2; exit 2`, never, 30 * time.Second,
			[]string{"exit status 2", "panic: boom", "goroutine 1"}},
		{"never healthy", "exec sleep 60", never, 200 * time.Millisecond, []string{"fake not healthy after 200ms", "file does not exist"}},
		{"healthy", "exec sleep 60", func(context.Context, int) error { return nil }, time.Second, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(script(t, tc.body))
			require.NoError(t, err)
			defer p.Stop(0)
			err = WaitHealthy(ctx, p, tc.check, tc.timeout)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestStopKillsGroup: stopping reaches what the process forked, and one
// that ignores SIGTERM is killed after the grace period.
func TestStopKillsGroup(t *testing.T) {
	p, child := group(t, `trap "" TERM; `)
	p.Stop(300 * time.Millisecond)
	require.False(t, p.Alive())
	require.Eventually(t, func() bool { return Gone(child) }, 5*time.Second, 10*time.Millisecond,
		"the forked child %d must die with its group", child)
}

// TestReattach: a process recorded in a state file by one kdbench is
// recognised by another, and a recycled pid (other start time) is not.
func TestReattach(t *testing.T) {
	p, err := Start(script(t, "exec sleep 300"))
	require.NoError(t, err)
	defer p.Stop(0)
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var other Process
	require.NoError(t, json.Unmarshal(data, &other))
	require.False(t, other.Attached())
	require.True(t, other.Alive())
	require.False(t, Matches(other.PID, other.StartTicks+1))
	other.Stop(time.Second)
	require.Eventually(t, func() bool { return !p.Alive() }, 5*time.Second, 10*time.Millisecond)
}

// TestSignal: a crash (SIGKILL) takes the whole group and returns once the
// leader is gone; a stall (SIGSTOP) stops the group until SIGCONT.
func TestSignal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Run("stall", func(t *testing.T) {
		p, child := group(t, "")
		require.NoError(t, p.Signal(ctx, syscall.SIGSTOP))
		st, _ := State(p.PID)
		require.Equal(t, byte('T'), st)
		require.NoError(t, poll(ctx, func() bool { st, _ := State(child); return st == 'T' }, nil), "the group stops too")
		require.NoError(t, p.Signal(ctx, syscall.SIGCONT))
		require.NoError(t, poll(ctx, func() bool { st, _ := State(child); return st != 'T' }, nil))
		require.True(t, p.Alive())
	})
	t.Run("crash", func(t *testing.T) {
		p, child := group(t, "")
		require.NoError(t, p.Signal(ctx, syscall.SIGKILL))
		require.False(t, p.Alive())
		require.Equal(t, syscall.SIGKILL, p.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal())
		require.NoError(t, poll(ctx, func() bool { return Gone(child) }, nil), "the group's other process survived")
		require.ErrorContains(t, p.Signal(ctx, syscall.SIGSTOP), "fake: stopped (signal): not running")
	})
	require.ErrorContains(t, SignalGroup(ctx, 0, syscall.SIGKILL), "not running (pid 0)")
}

func TestHTTPOKCountsOnlyItsOwnProcess(t *testing.T) {
	srv := httptest.NewServer(procid.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	ctx := context.Background()
	require.NoError(t, HTTPOK(ctx, srv.Client(), srv.URL, os.Getpid()))
	require.ErrorContains(t, HTTPOK(ctx, srv.Client(), srv.URL, os.Getpid()+1), "its port was taken?")
	require.NoError(t, HTTPOK(ctx, srv.Client(), srv.URL, 0), "pid 0: any answer counts (not a kdbench process)")
}

func TestExitedNamesDeadPeers(t *testing.T) {
	live, err := Start(script(t, "exec sleep 60"))
	require.NoError(t, err)
	defer live.Stop(0)
	s := script(t, `echo "listen: address already in use" >&2; exit 1`)
	s.Name = "kd-scheduler"
	dead, err := Start(s)
	require.NoError(t, err)
	<-dead.Done()
	require.NoError(t, Exited([]*Process{live, dead}, dead))
	err = Exited([]*Process{live, dead}, live)
	require.ErrorContains(t, err, "kd-scheduler exited (exit status 1)")
	require.ErrorContains(t, err, "address already in use")
}

// TestSuperviseLifeline: the remote side reports the pid, signals the group
// on request, and stops the group when its stdin closes.
func TestSuperviseLifeline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := script(t, `sleep 300 & echo $! > "$0.child"; wait`)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ended := make(chan error, 1)
	go func() { ended <- Supervise(s, SuperviseOptions{Grace: time.Second}, inR, outW); outW.Close() }()
	c := NewClient(outR, inW)
	pid, err := c.PID(ctx)
	require.NoError(t, err)
	require.True(t, !Gone(pid))
	require.NoError(t, c.Signal(ctx, syscall.SIGSTOP))
	st, _ := State(pid)
	require.Equal(t, byte('T'), st)
	require.NoError(t, c.Signal(ctx, syscall.SIGCONT))
	var child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(s.Path + ".child")
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && child > 0
	}, 10*time.Second, 10*time.Millisecond)

	inW.Close() // the harness is gone
	require.NoError(t, <-ended)
	<-c.Done()
	require.Contains(t, c.Exit(), "signal")
	require.True(t, Gone(pid), "the component outlived its lifeline")
	require.NoError(t, poll(ctx, func() bool { return Gone(child) }, nil), "its group's child outlived the lifeline")
	require.ErrorContains(t, c.Signal(ctx, syscall.SIGSTOP), "not running")
}

func TestOutput(t *testing.T) {
	out, err := Output(context.Background(), Command{Path: "sh", Args: []string{"-c", "cat; echo err >&2"}, Stdin: strings.NewReader("in\n")})
	require.NoError(t, err)
	require.Equal(t, "in\nerr\n", string(out))
	_, err = Output(context.Background(), Command{Path: "sh", Args: []string{"-c", "echo why; exit 3"}})
	require.ErrorContains(t, err, "sh -c echo why; exit 3: exit status 3: why")
}

// TestSuperviseSilence: a harness that goes quiet without closing the
// session (its host died, the network was cut) stops the group after
// Silence; one that keeps pinging keeps its component.
func TestSuperviseSilence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		heartbeat bool
	}{{"pinging harness keeps it", true}, {"silent harness stops it", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := script(t, `exec sleep 300`)
			inR, inW := io.Pipe() // never closed while the test looks
			defer inW.Close()
			outR, outW := io.Pipe()
			ended := make(chan error, 1)
			go func() {
				ended <- Supervise(s, SuperviseOptions{Grace: 100 * time.Millisecond, Silence: 400 * time.Millisecond}, inR, outW)
				outW.Close()
			}()
			c := NewClient(outR, inW)
			if tc.heartbeat {
				c.Heartbeat(50 * time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pid, err := c.PID(ctx)
			require.NoError(t, err)
			select {
			case <-c.Done():
				require.False(t, tc.heartbeat, "stopped although the harness pinged: %s", c.Exit())
				require.Contains(t, c.Exit(), "the harness was silent for 400ms")
				require.NoError(t, <-ended)
				require.True(t, Gone(pid))
			case <-time.After(2 * time.Second):
				require.True(t, tc.heartbeat, "still running 2s after the harness went silent")
				require.NoError(t, c.Signal(ctx, syscall.SIGKILL))
			}
		})
	}
}

func TestSuperviseArgsRoundTrip(t *testing.T) {
	s := Spec{Name: "kd-scheduler", Log: "logs/kd.log", Dir: "run/kd", Path: "/usr/local/bin/kdbench", Args: []string{"internal", "x", "--y=1"}}
	o := SuperviseOptions{Grace: 3 * time.Second, Silence: 30 * time.Second}
	got, gotO, err := ParseSuperviseArgs(SuperviseArgs(s, o))
	require.NoError(t, err)
	require.Equal(t, s, got)
	require.Equal(t, o, gotO)
}

// TestPollSendsAgain: a signal that has not taken effect is sent again, so
// a SIGCONT from elsewhere cannot leave a stall unapplied.
func TestPollSendsAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent := 0
	require.NoError(t, poll(ctx, func() bool { return sent == 2 }, func() { sent++ }))
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	require.ErrorIs(t, poll(short, func() bool { return false }, nil), context.DeadlineExceeded)
}
