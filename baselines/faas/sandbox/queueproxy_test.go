package sandbox

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/serving/pkg/autoscaler/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files")

// knativePod is a pod as serving's revision reconciler makes it: the
// revision label, the user container with its port, and the queue-proxy
// sidecar with its environment.
func knativePod(name string, userPort, cc int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"serving.knative.dev/revision": "fn-00001"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "user-container", Ports: []corev1.ContainerPort{{Name: "user-port", ContainerPort: int32(userPort)}}},
			{Name: "queue-proxy", Env: []corev1.EnvVar{
				{Name: "QUEUE_SERVING_PORT", Value: "8012"}, {Name: "USER_PORT", Value: fmt.Sprint(userPort)},
				{Name: "CONTAINER_CONCURRENCY", Value: fmt.Sprint(cc)}, {Name: "SERVING_POD"}}},
		}},
	}
}

func TestKnativeQueue(t *testing.T) {
	labelOnly := testPod("ns", "l")
	labelOnly.Labels = map[string]string{"serving.knative.dev/revision": "fn-00002"}
	sidecarOnly := knativePod("s", 8080, 4)
	sidecarOnly.Labels = nil
	noUserPort := knativePod("n", 8080, 1)
	noUserPort.Spec.Containers[0].Ports = nil
	noUserPort.Spec.Containers[1].Env = noUserPort.Spec.Containers[1].Env[2:] // no ports in the env either
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		want    QueueConfig
		knative bool
	}{
		{"plain pod", testPod("ns", "p"), QueueConfig{}, false},
		{"revision pod", knativePod("k", 8081, 1), QueueConfig{Revision: "fn-00001", ServingPort: 8012, MetricsPort: 9090, UserPort: 8081, ContainerConcurrency: 1}, true},
		{"label only: Knative's defaults", labelOnly, QueueConfig{Revision: "fn-00002", ServingPort: 8012, MetricsPort: 9090, UserPort: 8080}, true},
		{"queue-proxy sidecar only", sidecarOnly, QueueConfig{ServingPort: 8012, MetricsPort: 9090, UserPort: 8080, ContainerConcurrency: 4}, true},
		{"user port defaults to 8080", noUserPort, QueueConfig{Revision: "fn-00001", ServingPort: 8012, MetricsPort: 9090, UserPort: 8080, ContainerConcurrency: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := KnativeQueue(tc.pod)
			require.Equal(t, tc.knative, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestKnativePodServesAtItsIP: a Knative pod's sandbox is at its own IP
// (here a loopback one, which this machine can bind), on Knative's ports;
// an IP this machine cannot bind is refused with the pod, the IP and the
// fix.
func TestKnativePodServesAtItsIP(t *testing.T) {
	p := NewPool()
	defer p.Close()
	ip := netip.MustParseAddr("127.42.0.1")
	require.NoError(t, p.Start(knativePod("a", 8080, 1), ip))
	addr, ok := p.Addr("ns", "a")
	require.True(t, ok)
	require.Equal(t, "127.42.0.1:8080", addr.String())
	// An invocation through the queue-proxy shows in the Stat of the next
	// reporting period, which the pool's ticker closes.
	out, code := invokeVia(t, "http://127.42.0.1:8012", nil, 0)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ns/a", out.Pod)
	require.Eventually(t, func() bool { return scrape(t, "http://127.42.0.1:9090/metrics").RequestCount == 1 },
		3*ReportingPeriod, 50*time.Millisecond)
	p.Stop("ns", "a")
	// Its addresses are free at once for the pod that takes the IP next.
	require.NoError(t, p.Start(knativePod("b", 8080, 1), ip))

	err := p.Start(knativePod("far", 8080, 1), netip.MustParseAddr("192.0.2.1")) // TEST-NET-1, never local
	require.Error(t, err)
	for _, want := range []string{"ns/far", `revision "fn-00001"`, "192.0.2.1", "--pod-netns"} {
		require.ErrorContains(t, err, want)
	}
	// A plain pod keeps the loopback mapping.
	require.NoError(t, p.Start(testPod("ns", "plain"), netip.MustParseAddr("10.42.0.9")))
	addr, _ = p.Addr("ns", "plain")
	require.Equal(t, "127.42.0.9:8080", addr.String())
}

// TestQueueProxyProbe: the activator's probe (GET /healthz with
// K-Network-Probe: queue, its user agent) is answered 200 "queue" while the
// user container accepts connections; other probes are refused as the real
// queue-proxy refuses them.
func TestQueueProxyProbe(t *testing.T) {
	p := NewPool()
	defer p.Close()
	require.NoError(t, p.Start(knativePod("a", 8080, 1), netip.MustParseAddr("127.42.1.1")))
	probe := func(header map[string]string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, "http://127.42.1.1:8012/healthz", nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name   string
		header map[string]string
		code   int
		body   string
	}{
		{"activator", map[string]string{"K-Network-Probe": "queue", "User-Agent": "Knative-Activator-Probe"}, 200, "queue"},
		{"kubelet", map[string]string{"K-Network-Probe": "queue", "User-Agent": "kube-probe/1.32"}, 200, "queue"},
		{"autoscaler", map[string]string{"K-Network-Probe": "queue", "User-Agent": "Knative-Autoscaling-Probe"}, 200, "queue"},
		{"wrong probe value", map[string]string{"K-Network-Probe": "activator", "User-Agent": "Knative-Activator-Probe"}, 400, "unexpected probe header value: activator\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := probe(tc.header)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.body, body)
		})
	}
	// The user container gone (its listener closed), the probe fails.
	p.mu.Lock()
	_ = p.servers["ns/a"].user.ln.Close()
	p.mu.Unlock()
	code, _ := probe(map[string]string{"K-Network-Probe": "queue", "User-Agent": "Knative-Activator-Probe"})
	require.Equal(t, http.StatusServiceUnavailable, code)
}

// invokeVia posts one invocation of d to url with header, returning when
// it finished and what the sandbox measured.
func invokeVia(t *testing.T, url string, header http.Header, d time.Duration) (Response, int) {
	t.Helper()
	b, _ := json.Marshal(Request{ID: "i", RuntimeUs: d.Microseconds()})
	req, err := http.NewRequest(http.MethodPost, url+InvokePath, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out Response
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	}
	return out, resp.StatusCode
}

// TestQueueProxyBreaker: with containerConcurrency 1 two invocations run one
// after the other, as the queue-proxy's breaker admits them; with 0 (no
// limit) side by side.
func TestQueueProxyBreaker(t *testing.T) {
	const d = 300 * time.Millisecond
	for i, tc := range []struct {
		cc       int
		min, max time.Duration
	}{
		{1, 2 * d, 4 * d},
		{0, d, 2 * d},
	} {
		t.Run(fmt.Sprintf("containerConcurrency %d", tc.cc), func(t *testing.T) {
			p := NewPool()
			defer p.Close()
			ip := fmt.Sprintf("127.42.2.%d", i+1)
			require.NoError(t, p.Start(knativePod("a", 8080, tc.cc), netip.MustParseAddr(ip)))
			start := time.Now()
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, code := invokeVia(t, "http://"+ip+":8012", http.Header{"Knative-Serving-Revision": {"fn-00001"}}, d)
					require.Equal(t, http.StatusOK, code)
					require.Equal(t, "ns/a", out.Pod)
				}()
			}
			wg.Wait()
			took := time.Since(start)
			require.True(t, took >= tc.min && took < tc.max, "two invocations took %s, want [%s, %s)", took, tc.min, tc.max)
		})
	}
}

// scrape reads the Stat the autoscaler's scraper reads.
func scrape(t *testing.T, url string) metrics.Stat {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/protobuf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/protobuf", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var s metrics.Stat
	require.NoError(t, proto.Unmarshal(b, &s))
	return s
}

// TestQueueProxyStats: the Stat served on the metrics port is the real
// queue-proxy's accounting of the requests it saw, per reporting period:
// arrivals (all, and those the activator proxied, marked K-Proxy-Request)
// as a rate over the 1 s period, and the time-weighted average
// concurrency. A period in which one request is in flight throughout has
// average concurrency exactly 1 and no arrivals (golden wire bytes, the
// uptime left out).
func TestQueueProxyStats(t *testing.T) {
	ip := netip.MustParseAddr("127.42.3.1")
	user, err := Start("ns/a", netip.AddrPortFrom(ip, 8080))
	require.NoError(t, err)
	defer user.Close()
	q, err := startQueueProxy("ns/a", ip, QueueConfig{ServingPort: 8012, MetricsPort: 9090, UserPort: 8080, ContainerConcurrency: 1}, hostNet, false)
	require.NoError(t, err)
	defer q.Close()
	const metricsURL = "http://127.42.3.1:9090/metrics"

	require.Equal(t, metrics.Stat{PodName: "ns/a"}, scrape(t, metricsURL), "before the first report")

	// Period 1: a direct request that finishes, and a proxied one still
	// running at the report.
	_, code := invokeVia(t, "http://127.42.3.1:8012", nil, 0)
	require.Equal(t, http.StatusOK, code)
	done := make(chan struct{})
	go func() {
		defer close(done)
		invokeVia(t, "http://127.42.3.1:8012", http.Header{"K-Proxy-Request": {"activator"}}, 1500*time.Millisecond)
	}()
	require.Eventually(t, func() bool { return user.inflight() == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(20 * time.Millisecond) // the first request's accounting ends just after its reply
	q.report(time.Now())
	s := scrape(t, metricsURL)
	require.Equal(t, 2.0, s.RequestCount)
	require.Equal(t, 1.0, s.ProxiedRequestCount)
	require.Greater(t, s.AverageConcurrentRequests, 0.0)
	require.LessOrEqual(t, s.AverageConcurrentRequests, 2.0)
	require.Greater(t, s.AverageProxiedConcurrentRequests, 0.0)
	require.LessOrEqual(t, s.AverageProxiedConcurrentRequests, 1.0)

	// Period 2: the proxied request in flight throughout.
	time.Sleep(100 * time.Millisecond)
	q.report(time.Now())
	s = scrape(t, metricsURL)
	require.Greater(t, s.ProcessUptime, 0.0)
	s.ProcessUptime = 0
	require.Equal(t, metrics.Stat{PodName: "ns/a", AverageConcurrentRequests: 1, AverageProxiedConcurrentRequests: 1}, s)
	b, err := proto.Marshal(&s)
	require.NoError(t, err)
	checkGolden(t, "stat-one-in-flight.golden.hex", hex.EncodeToString(b)+"\n")
	<-done
	time.Sleep(20 * time.Millisecond)

	// Period 3: it finished just after period 2 began; nothing arrived.
	q.report(time.Now())
	s = scrape(t, metricsURL)
	require.Zero(t, s.RequestCount)
	require.Greater(t, s.AverageConcurrentRequests, 0.0)
	require.Less(t, s.AverageConcurrentRequests, 1.0)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./baselines/faas/sandbox -update creates %s", path)
	require.Equal(t, strings.TrimSpace(string(want)), strings.TrimSpace(got))
}
