package serving

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/kd"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/clusters/local/localtest"
	"github.com/kdbench/kdbench/clusters/local/nodeagent"
	"github.com/kdbench/kdbench/internal/netns"
)

// TestRealKnativeScalesFromZero installs real Knative Serving on a local
// cluster and, for kn-k8s and then kn-kd (Kubedirect's hops prepared),
// creates ten Knative Services, checks Knative's own objects Ready, and
// sends one request to the real activator: the KPA scales the revision from
// zero, Kubernetes' or Kubedirect's controllers and the node agent run the
// pod, the activator learns its endpoint and forwards the request to the
// stand-in queue-proxy the test serves at the pod's IP.
func TestRealKnativeScalesFromZero(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster and real Knative; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("real Knative needs root (network namespaces); run as root")
	}
	if err := CheckBinaries(BinDir(), "controller", "autoscaler", "activator"); err != nil {
		t.Skipf("skipping: %v", err)
	}
	localtest.RequireUpstream(t)
	bin := localtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Logs stay after a failure, for the paths its message names.
	root, err := os.MkdirTemp("", "kdbench-knative-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs kept in %s", root)
		} else {
			_ = os.RemoveAll(root)
		}
	})
	p := local.New(local.Options{Root: root, Self: bin, Attached: true, EtcdUnsafeNoFsync: true, Logf: t.Logf})
	c, err := p.Up(ctx, clusters.Spec{Name: "kn", Nodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Down(context.Background(), "kn") })

	// A start-up that fails half-way (no component healthy within 1ms)
	// removes what it made and names the component's log.
	if _, err := Install(ctx, c, Options{Timeout: time.Millisecond}); err == nil || !strings.Contains(err.Error(), "controller.log") {
		t.Fatalf("Install with a 1ms start-up: error %v, want one naming the controller's log", err)
	}
	checkNothingLeft(t)
	// An installation killed without clean-up (its leader leases held, its
	// namespaces left) does not hold back the next one: the ksvcs below are
	// Ready in well under the 60 s a held lease lasts.
	first, err := Install(ctx, c, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range first.procs {
		p.Stop(0) // SIGKILL: no lease released
	}

	s, err := Install(ctx, c, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
		checkNothingLeft(t)
	})
	rc := *c.REST
	rc.QPS, rc.Burst = 200, 400
	cs := kubernetes.NewForConfigOrDie(&rc)
	dc := dynamic.NewForConfigOrDie(&rc)

	var real, modelled []string
	for _, comp := range s.Components() {
		if comp.Real {
			real = append(real, comp.Name)
		} else {
			modelled = append(modelled, comp.Name)
		}
	}
	if strings.Join(real, ",") != "controller,autoscaler,activator" || strings.Join(modelled, ",") != "webhook,ingress" {
		t.Errorf("components real %v, modelled %v", real, modelled)
	}

	// kn-k8s: Kubernetes' controllers run the revisions' Deployments; kn-kd:
	// Kubedirect's hops do (its labels on the revision template, as the
	// artifact's kd.ksvc.template.yaml).
	for _, tc := range []struct {
		name  string
		inner baselines.System
	}{
		{"kn-k8s", nil},
		{"kn-kd", kd.New("kd", 0, bin)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var labels map[string]string
			if tc.inner != nil {
				env := baselines.Env{Cluster: c, Client: cs, Logf: t.Logf}
				if err := tc.inner.Prepare(ctx, env); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := tc.inner.Teardown(context.Background(), env); err != nil {
						t.Errorf("tearing down %s: %v", tc.inner.Name(), err)
					}
				}()
				if d, ok := tc.inner.(baselines.DeploymentDecorator); ok {
					if labels, err = DeploymentLabels(d.DecorateDeployment); err != nil {
						t.Fatal(err)
					}
				}
			}
			pod := coldStart(ctx, t, s, c, cs, dc, tc.name, labels)
			// Which path made the pod: Kubedirect's link identity, or none.
			_, viaKd := pod.Annotations[nodeagent.IdentityAnnotation]
			if viaKd != (tc.inner != nil) {
				t.Errorf("pod %s/%s: Kubedirect identity annotation present %v, want %v (annotations %v)",
					pod.Namespace, pod.Name, viaKd, tc.inner != nil, pod.Annotations)
			}
		})
	}
}

// coldStart creates ten ksvcs in namespace ns, waits for Knative's objects,
// and sends one request through the real activator to the first; it
// returns the pod that served it.
func coldStart(ctx context.Context, t *testing.T, s *Serving, c *clusters.Cluster, cs kubernetes.Interface, dc dynamic.Interface, ns string, labels map[string]string) *corev1.Pod {
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\ncomponent logs:\n%s%v\ncluster logs: %s", fmt.Sprintf(format, args...), s.Logs(), s.Exited(), filepath.Join(filepath.Dir(c.Kubeconfig), "logs"))
	}
	const functions = 10
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	created := time.Now()
	for i := range functions {
		names = append(names, fmt.Sprintf("fn-%d", i))
		if err := CreateService(ctx, dc, NewService(ns, names[i], labels)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := WaitAllReady(ctx, dc, ns, names, false, 45*time.Second)
	if err != nil {
		fail("%v", err)
	}
	fn, ready := names[0], all[names[0]]
	t.Logf("%d Services, Configurations, Revisions Ready at zero pods %s after creation; PodAutoscalers and ServerlessServices idle behind the activator",
		functions, time.Since(created).Round(time.Millisecond))

	qp := startStandIn(ctx, t, cs, s.PodNetns(), ns, ready.Revision)
	defer qp.close()

	start := time.Now()
	var body string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.ActivatorURL()+"/", nil)
		req.Header.Set("Knative-Serving-Revision", ready.Revision)
		req.Header.Set("Knative-Serving-Namespace", ns)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Logf("request to the activator: %v", err)
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Logf("activator answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
			return false, nil
		}
		body = string(b)
		return true, nil
	})
	if err != nil {
		fail("no 200 through the activator: %v; stand-in served %v", err, qp.served())
	}
	if want := "hello from " + ready.Revision; !strings.HasPrefix(body, want) {
		fail("response %q, want it from the stand-in queue-proxy (%q)", body, want)
	}
	t.Logf("200 through the real activator after %s (cold start from zero): %q", time.Since(start).Round(time.Millisecond), body)
	if _, err := WaitReady(ctx, dc, ns, fn, true, time.Minute); err != nil {
		fail("after the cold start: %v", err)
	}
	t.Logf("PodAutoscaler and ServerlessService Ready with a pod serving")
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + ready.Revision})
	if err != nil || len(pods.Items) == 0 {
		fail("the revision's pods: %v (%d)", err, len(pods.Items))
	}
	return &pods.Items[0]
}

// standIn is a minimal queue-proxy for the test only (the node agent's
// sandboxes serve the real stand-in): at each of the revision's pod IPs, in
// the pod network namespace, it answers the activator's K-Network-Probe and
// serves requests, on 8012 (HTTP/1) and 8013 (h2c, the revision's protocol).
type standIn struct {
	mu      sync.Mutex
	ls      []net.Listener
	srv     *http.Server
	ips     map[string]bool
	counted int
	cancel  context.CancelFunc
}

func startStandIn(ctx context.Context, t *testing.T, cs kubernetes.Interface, podNetns, ns, rev string) *standIn {
	ctx, cancel := context.WithCancel(ctx)
	q := &standIn{ips: map[string]bool{}, cancel: cancel}
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	q.srv = &http.Server{Protocols: protos, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("K-Network-Probe") == "queue" {
			_, _ = io.WriteString(w, "queue")
			return
		}
		q.mu.Lock()
		q.counted++
		q.mu.Unlock()
		fmt.Fprintf(w, "hello from %s via %s", rev, r.Host)
	})}
	go func() {
		for ctx.Err() == nil {
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
			if err == nil {
				for _, p := range pods.Items {
					q.serve(t, podNetns, p.Status.PodIP)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return q
}

func (q *standIn) serve(t *testing.T, podNetns, ip string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ip == "" || q.ips[ip] {
		return
	}
	q.ips[ip] = true
	for _, port := range []string{"8012", "8013"} {
		l, err := netns.Listen(podNetns, "tcp", net.JoinHostPort(ip, port))
		if err != nil {
			t.Errorf("stand-in queue-proxy: %v", err)
			continue
		}
		q.ls = append(q.ls, l)
		go func() { _ = q.srv.Serve(l) }()
	}
	t.Logf("stand-in queue-proxy serving pod IP %s", ip)
}

func (q *standIn) served() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return fmt.Sprintf("%d requests at pod IPs %v", q.counted, q.ips)
}

func (q *standIn) close() {
	q.cancel()
	_ = q.srv.Close()
}

// checkNothingLeft fails the test if a namespace or a Knative process of
// this test process outlived the installation.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	ents, _ := os.ReadDir(netns.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), fmt.Sprintf("%s%d-", nsPrefix, os.Getpid())) {
			t.Errorf("network namespace %s left behind", e.Name())
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err != nil || filepath.Dir(exe) != filepath.Clean(BinDir()) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 && f[1] == fmt.Sprint(os.Getpid()) && f[0] != "Z" {
			t.Errorf("Knative process %s (%s) left behind", p.Name(), exe)
		}
	}
}
