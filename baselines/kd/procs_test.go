package kd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
)

// fakeProcess is a placed process that records what was done to it.
type fakeProcess struct {
	name    string
	host    clusters.Host
	done    chan struct{}
	signals []syscall.Signal
}

func newFake(name string, h clusters.Host) *fakeProcess {
	return &fakeProcess{name: name, host: h, done: make(chan struct{})}
}

func (f *fakeProcess) Name() string        { return f.name }
func (f *fakeProcess) Host() clusters.Host { return f.host }
func (f *fakeProcess) PID() int            { return 4242 }
func (f *fakeProcess) Alive() bool {
	select {
	case <-f.done:
		return false
	default:
		return true
	}
}
func (f *fakeProcess) Signal(_ context.Context, sig syscall.Signal) error {
	if !f.Alive() {
		return errors.New("not running")
	}
	f.signals = append(f.signals, sig)
	return nil
}
func (f *fakeProcess) Stop(time.Duration) {
	if f.Alive() {
		close(f.done)
	}
}
func (f *fakeProcess) Log() string           { return f.host.Name + ":" + f.name + ".log" }
func (f *fakeProcess) LogTail(int) string    { return "    (fake)" }
func (f *fakeProcess) Done() <-chan struct{} { return f.done }

// fakePlacer has a control-plane and a worker host on two loopback
// addresses (or the workers given) and fails to start the component named
// fail.
type fakePlacer struct {
	fail    string
	workers []clusters.Host
	started []clusters.Component
	on      []clusters.Host
	procs   []*fakeProcess
}

var (
	cpHost     = clusters.Host{Name: "cp", Roles: []clusters.Role{clusters.RoleControlPlane}, Addr: "127.0.0.1"}
	workerHost = clusters.Host{Name: "w1", Roles: []clusters.Role{clusters.RoleWorker}, Addr: "127.0.0.2"}
)

func (p *fakePlacer) Hosts() []clusters.Host {
	if p.workers != nil {
		return append([]clusters.Host{cpHost}, p.workers...)
	}
	return []clusters.Host{cpHost, workerHost}
}
func (p *fakePlacer) Start(_ context.Context, h clusters.Host, c clusters.Component) (clusters.Process, error) {
	p.started = append(p.started, c)
	p.on = append(p.on, h)
	if c.Name == p.fail {
		return nil, errors.New(c.Name + " on " + h.Name + ": did not start")
	}
	f := newFake(c.Name, h)
	p.procs = append(p.procs, f)
	return f, nil
}

type fakeReconfigurer struct {
	calls [][]string
	hosts []string   // by call
	files [][]string // paths, by call
}

func (r *fakeReconfigurer) Reconfigure(_ context.Context, h clusters.Host, component string, extra []string, files []clusters.File) error {
	r.calls = append(r.calls, append([]string{component}, extra...))
	r.hosts = append(r.hosts, h.Name)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	r.files = append(r.files, paths)
	return nil
}

func fakeCluster(t *testing.T, p clusters.Placer, r clusters.Reconfigurer) *clusters.Cluster {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &clusters.Cluster{Name: "c", Provider: "fake", Kubeconfig: kc, Nodes: 3, Placer: p, Reconfigurer: r}
}

func TestPrepareRefusesWithoutPlacerOrReconfigurer(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *clusters.Cluster
		want string
	}{
		{"no placer", fakeCluster(t, nil, &fakeReconfigurer{}), `kd: cluster "c" (provider fake) cannot place components on its hosts`},
		{"no reconfigurer", fakeCluster(t, &fakePlacer{}, nil), "cannot restart its kube-controller-manager without its deployment and replicaset controllers"},
	} {
		err := New("kd", 0, "").Prepare(context.Background(), baselines.Env{Cluster: tc.c})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestPreparePlacesAndRestoresOnFailure: the cluster's node agent is
// reconfigured into direct mode on a worker's address with its link
// identity as files, the hops go to the control plane with theirs, the
// scheduler discovering the agent; a failed Prepare stops what it started
// and restores the node agent, then the controller-manager.
func TestPreparePlacesAndRestoresOnFailure(t *testing.T) {
	pl := &fakePlacer{fail: "kd-scheduler"}
	r := &fakeReconfigurer{}
	err := New("kd", 0, "").Prepare(context.Background(), baselines.Env{Cluster: fakeCluster(t, pl, r)})
	if err == nil || !strings.Contains(err.Error(), "kd-scheduler on cp: did not start") {
		t.Fatalf("Prepare = %v, want the scheduler's start error", err)
	}
	if len(pl.started) != 1 || pl.on[0].Name != "cp" {
		t.Fatalf("started %d components on %v, want kd-scheduler on cp", len(pl.started), pl.on)
	}
	sched := pl.started[0]
	if len(r.calls) != 4 || r.calls[1][0] != nodeAgent {
		t.Fatalf("reconfigured %q, want the controller-manager, the node agent, then both restored", r.calls)
	}
	agent := r.calls[1][1:]
	for _, want := range []string{"--direct-listen=127.0.0.2:", "--direct-advertise=127.0.0.2:", "--tls-cert=" + tlsCertFile} {
		if !slices.ContainsFunc(agent, func(a string) bool { return strings.HasPrefix(a, want) }) {
			t.Errorf("the node agent's direct-mode flags %q lack %s…", agent, want)
		}
	}
	if want := []string{tlsCAFile, tlsCertFile, tlsKeyFile}; !slices.Equal(r.files[1], want) {
		t.Errorf("the node agent's files %q, want %q", r.files[1], want)
	}
	if slices.ContainsFunc(sched.Args, func(a string) bool {
		return strings.HasPrefix(a, "--nodeagent") || strings.HasPrefix(a, "--node-selector")
	}) || !slices.ContainsFunc(sched.Args, func(a string) bool { return strings.HasPrefix(a, "--listen=127.0.0.1:") }) {
		t.Errorf("the scheduler does not listen on the control plane and discover the agents: %q", sched.Args)
	}
	var files []string
	for _, f := range sched.Files {
		files = append(files, f.Path)
	}
	if want := []string{"kubeconfig", tlsCAFile, tlsCertFile, tlsKeyFile}; !slices.Equal(files, want) {
		t.Errorf("the scheduler's files %q, want %q", files, want)
	}
	if !slices.Contains(sched.Args, "--tls-cert="+tlsCertFile) || !slices.Contains(sched.Args, "--kubeconfig=kubeconfig") {
		t.Errorf("the scheduler's flags do not name its files: %q", sched.Args)
	}
	want := [][]string{{kcmComponent, kcmWithout}, {nodeAgent}, {kcmComponent}}
	if !slices.Equal(r.calls[0], want[0]) || !slices.Equal(r.calls[2], want[1]) || !slices.Equal(r.calls[3], want[2]) {
		t.Errorf("reconfigured %q, want the controller-manager %q, then the node agent and the controller-manager restored", r.calls, want[0])
	}
}

// TestDirectModeOnEveryWorker: on a cluster with an agent per worker host,
// each host's agent is reconfigured with its own address (kd's fixed port
// on a host that is not this machine), the controller-manager on the
// control-plane host; a failed Prepare restores them all, last first.
func TestDirectModeOnEveryWorker(t *testing.T) {
	w1 := clusters.Host{Name: "w1", Roles: []clusters.Role{clusters.RoleWorker}, Addr: "192.0.2.11"}
	w2 := clusters.Host{Name: "w2", Roles: []clusters.Role{clusters.RoleWorker}, Addr: "192.0.2.12"}
	pl := &fakePlacer{fail: "kd-scheduler", workers: []clusters.Host{w1, w2}}
	r := &fakeReconfigurer{}
	if err := New("kd", 0, "").Prepare(context.Background(), baselines.Env{Cluster: fakeCluster(t, pl, r)}); err == nil {
		t.Fatal("Prepare succeeded with a scheduler that does not start")
	}
	port := strconv.Itoa(remotePortBase + 2*slices.Index(linkHops, nodeAgent))
	want := []struct {
		host, component string
		flags           []string
	}{
		{"cp", kcmComponent, []string{kcmWithout}},
		{"w1", nodeAgent, []string{"--direct-listen=192.0.2.11:" + port, "--direct-advertise=192.0.2.11:" + port}},
		{"w2", nodeAgent, []string{"--direct-listen=192.0.2.12:" + port, "--direct-advertise=192.0.2.12:" + port}},
		{"w2", nodeAgent, nil},
		{"w1", nodeAgent, nil},
		{"cp", kcmComponent, nil},
	}
	if len(r.calls) != len(want) {
		t.Fatalf("reconfigured %q on %q, want %d calls", r.calls, r.hosts, len(want))
	}
	for i, w := range want {
		got := r.calls[i]
		if r.hosts[i] != w.host || got[0] != w.component {
			t.Errorf("call %d: %s on %s, want %s on %s", i, got[0], r.hosts[i], w.component, w.host)
		}
		if len(w.flags) == 0 && len(got) > 1 {
			t.Errorf("call %d: restore with flags %q", i, got[1:])
		}
		for _, f := range w.flags {
			if !slices.Contains(got[1:], f) {
				t.Errorf("call %d (%s on %s): flags %q lack %s", i, got[0], r.hosts[i], got[1:], f)
			}
		}
	}
}

func TestSignalAndProcesses(t *testing.T) {
	ctx := context.Background()
	s := New("kd", 0, "")
	local, remote := newFake("kd-scheduler", cpHost), newFake("kd-nodeagent", clusters.Host{Name: "w1", Addr: "10.10.1.2"})
	s.procs = []*placed{{proc: remote, comp: clusters.Component{Name: "kd-nodeagent"}, host: remote.host},
		{proc: local, comp: clusters.Component{Name: "kd-scheduler"}, host: cpHost}}
	if err := s.Signal(ctx, "kd-scheduler", syscall.SIGSTOP); err != nil || !slices.Equal(local.signals, []syscall.Signal{syscall.SIGSTOP}) {
		t.Fatalf("Signal: %v, signals %v", err, local.signals)
	}
	if err := s.Signal(ctx, "kd-deployment", syscall.SIGSTOP); err == nil {
		t.Fatal("signalled a process never started")
	}
	if got := s.Processes(); len(got) != 1 || got["kd-scheduler"] != 4242 {
		t.Fatalf("Processes() = %v, want only kd-scheduler (the node agent is on another host)", got)
	}
	local.Stop(0)
	if got := s.Processes(); len(got) != 0 {
		t.Fatalf("Processes() after the stop = %v", got)
	}
}

func TestRestartNeedsPrepare(t *testing.T) {
	s := New("kd", 0, "")
	for _, name := range []string{Autoscaler, "kd-scheduler"} {
		if err := s.Restart(context.Background(), name); err == nil {
			t.Errorf("Restart(%s) before Prepare succeeded", name)
		}
	}
}
