package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/internal/netns"
)

// testNetns makes a network namespace whose 10.250.0.0/16 is local (as
// real Knative's pods namespace makes the pod CIDR), deleted at cleanup.
func testNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	name := fmt.Sprintf("kdbench-sbtest-%d", os.Getpid())
	for _, args := range [][]string{
		{"netns", "add", name},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "route", "add", "local", "10.250.0.0/16", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			_ = exec.Command("ip", "netns", "del", name).Run()
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return netns.Path(name)
}

// clientIn dials from inside the namespace at path; h2c speaks HTTP/2
// with prior knowledge only, as the activator to an h2c revision.
func clientIn(path string, h2c bool) *http.Client {
	tr := &http.Transport{DialContext: netns.DialContext(path)}
	if h2c {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestKnativePodServesInNetns: with Pool.Netns, a Knative pod's
// queue-proxy and user container listen at the pod's IP inside that
// namespace, from a process that stays in its own: the activator's probe
// on 8012 (HTTP/1) and 8013 (h2c), an invocation forwarded to the user
// container through either, and the autoscaler's scrape on 9090. Its IP
// is no address of this process's namespace, and a plain pod still serves
// on its loopback address here.
func TestKnativePodServesInNetns(t *testing.T) {
	path := testNetns(t)
	p := NewPool()
	p.Netns = path
	defer p.Close()
	ip := netip.MustParseAddr("10.250.0.5")
	require.NoError(t, p.Start(knativePod("a", 8080, 1), ip))

	if l, err := net.Listen("tcp", "10.250.0.5:8012"); err == nil {
		l.Close()
		t.Fatal("10.250.0.5 is bindable in the test's own namespace: the test proves nothing")
	}
	for _, tc := range []struct {
		name string
		port int
		h2c  bool
	}{{"HTTP/1 on 8012", 8012, false}, {"h2c on 8013", 8013, true}, {"HTTP/1 on 8013", 8013, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := clientIn(path, tc.h2c)
			base := fmt.Sprintf("http://%s:%d", ip, tc.port)
			req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
			req.Header.Set("K-Network-Probe", "queue")
			req.Header.Set("User-Agent", "Knative-Activator-Probe")
			resp, err := c.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, "queue", string(b))
			if tc.h2c {
				require.Equal(t, 2, resp.ProtoMajor)
			}

			body, _ := json.Marshal(Request{ID: "i", RuntimeUs: 1000})
			req, _ = http.NewRequest(http.MethodPost, base+InvokePath, bytes.NewReader(body))
			req.Header.Set("Knative-Serving-Revision", "fn-00001")
			resp, err = c.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var out Response
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			require.Equal(t, "ns/a", out.Pod)
		})
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s:9090/metrics", ip), nil)
	req.Header.Set("Accept", "application/protobuf")
	resp, err := clientIn(path, false).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "application/protobuf", resp.Header.Get("Content-Type"))

	// Stopped, its addresses in the namespace are free at once.
	p.Stop("ns", "a")
	l, err := netns.Listen(path, "tcp", "10.250.0.5:8013")
	require.NoError(t, err)
	l.Close()

	require.NoError(t, p.Start(testPod("ns", "plain"), netip.MustParseAddr("10.42.0.9")))
	addr, _ := p.Addr("ns", "plain")
	require.Equal(t, "127.42.0.9:8080", addr.String())
}
