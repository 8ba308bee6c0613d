package serving

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kdbench/kdbench/internal/netns"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
}

// TestNetwork checks the paths real Knative uses: from the activator's and
// the autoscaler's namespaces to any pod IP listening in the pods
// namespace, from the activator to the autoscaler, and that none of it is
// visible from this machine's own namespace; then that remove leaves
// nothing.
func TestNetwork(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n, err := newNetwork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer n.remove(ctx)

	serve := func(path, addr, reply string) {
		l, err := netns.Listen(path, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_, _ = io.WriteString(c, reply)
				c.Close()
			}
		}()
	}
	serve(n.path("pods"), "10.200.3.7:8012", "pod") // any address of the pod CIDR binds
	serve(n.path("autoscaler"), ":8080", "autoscaler")

	for _, tc := range []struct {
		from, addr, want string
	}{
		{"activator", "10.200.3.7:8012", "pod"},
		{"autoscaler", "10.200.3.7:8012", "pod"},
		{"activator", autoscalerIP + ":8080", "autoscaler"},
		{"", "10.200.3.7:8012", ""}, // this machine's namespace does not reach the pod
	} {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		path := ""
		if tc.from != "" {
			path = n.path(tc.from)
		}
		c, err := netns.DialContext(path)(ctx, "tcp", tc.addr)
		cancel()
		if tc.want == "" {
			// The machine's own network may accept any connection (an egress
			// proxy); what matters is that the pod does not answer.
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
				got, _ := io.ReadAll(c)
				c.Close()
				if string(got) == "pod" {
					t.Errorf("the pod at %s answered from this machine's namespace", tc.addr)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("from %s to %s: %v", tc.from, tc.addr, err)
			continue
		}
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != tc.want {
			t.Errorf("from %s to %s: got %q, want %q", tc.from, tc.addr, got, tc.want)
		}
	}

	if err := n.remove(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if _, err := os.Stat(n.path(r)); err == nil {
			t.Errorf("%s left after remove", n.path(r))
		}
	}
}

// TestSweepStale: namespaces of a kdbench process that is gone are removed,
// those of a live one (this test) are not.
func TestSweepStale(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dead := nsPrefix + "999999999-1-pods" // beyond pid_max: never a live process
	live := nsPrefix + strconv.Itoa(os.Getpid()) + "-999-pods"
	for _, name := range []string{dead, live} {
		if err := ip(ctx, "netns", "add", name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ip(ctx, "netns", "delete", name) })
	}
	sweepStale(ctx)
	if _, err := os.Stat(netns.Path(dead)); err == nil {
		t.Errorf("%s (a dead kdbench's) not swept", dead)
	}
	if _, err := os.Stat(netns.Path(live)); err != nil {
		t.Errorf("%s (this process's) swept: %v", live, err)
	}
}
