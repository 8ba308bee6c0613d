package clusters

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Role is what a host does in the cluster.
type Role string

const (
	RoleControlPlane Role = "control-plane"
	RoleWorker       Role = "worker"
)

// Host is one machine of a cluster (docs/placement.md).
type Host struct {
	Name string
	// Roles: a local cluster's one host is both control plane and worker.
	Roles []Role
	// Addr is the host's LAN address: what components on other hosts dial.
	Addr string
}

// Has reports whether h plays role r.
func (h Host) Has(r Role) bool {
	for _, x := range h.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// File is written on the host, relative to the component's working
// directory, before the component starts (certificates, kubeconfigs).
type File struct {
	Path string
	Data []byte
	Mode os.FileMode
}

// Component is a kdbench component to run on a host.
type Component struct {
	// Name names it in logs, errors and Process.Name ("kd-scheduler").
	Name string
	// Path is the executable on the host; "" is kdbench itself.
	Path string
	// Args are its arguments; relative paths resolve against its working
	// directory, where Files are.
	Args  []string
	Files []File
}

// Process is a component started on a host.
type Process interface {
	Name() string
	Host() Host
	// PID is the process id on its host.
	PID() int
	Alive() bool
	// Signal sends sig to the component's process group and returns once it
	// took effect (SIGKILL: gone; SIGSTOP: stopped; SIGCONT: running).
	Signal(ctx context.Context, sig syscall.Signal) error
	// Stop sends SIGTERM, waits up to grace, then SIGKILLs the group.
	Stop(grace time.Duration)
	// Log names the component's log (with its host when remote).
	Log() string
	LogTail(n int) string
	// Done closes when the process ended.
	Done() <-chan struct{}
}

// Placer starts kdbench components on a cluster's hosts. Systems say what
// runs where; they never start processes themselves.
type Placer interface {
	Hosts() []Host
	// Start writes c's files on host and starts c there. The process dies
	// with the harness (or its connection to the host).
	Start(ctx context.Context, host Host, c Component) (Process, error)
}

// Reconfigurer restarts one of the cluster's own components on one of its
// hosts with extra flags (each replacing a flag of the same name); nil
// restores its flags. A cluster with an agent per worker host has one
// "nodeagent" component per host, each reconfigured with its own addresses.
// files are written into the component's directory on its host first, the
// process's working directory, so extra names them by relative path (as a
// placed Component's Files). It returns once the component is healthy again.
type Reconfigurer interface {
	Reconfigure(ctx context.Context, host Host, component string, extra []string, files []File) error
}

// Crasher crashes and stalls the cluster's own components on its hosts, for
// failover cases. Crash kills a component (SIGKILL, no graceful shutdown)
// and starts it again with the flags it runs with now (a reconfigured one
// stays reconfigured), returning once it is healthy. Signal sends sig to it
// and returns once it took effect (SIGSTOP stalls it, SIGCONT resumes it).
type Crasher interface {
	Crash(ctx context.Context, host Host, component string) error
	Signal(ctx context.Context, host Host, component string, sig syscall.Signal) error
}

// HostsWith returns p's hosts that play role r.
func HostsWith(p Placer, r Role) []Host {
	var out []Host
	for _, h := range p.Hosts() {
		if h.Has(r) {
			out = append(out, h)
		}
	}
	return out
}

// ControlPlaneHost is p's control-plane host.
func ControlPlaneHost(p Placer) (Host, error) {
	hs := HostsWith(p, RoleControlPlane)
	if len(hs) == 0 {
		return Host{}, fmt.Errorf("the cluster has no %s host", RoleControlPlane)
	}
	return hs[0], nil
}

// HostAdmin administers a multi-host cluster's hosts beyond its own
// components, for systems that need more of them than a placed process
// (real Knative: routes for pod addresses, a network namespace, its
// binaries). The cloudlab provider's process control plane implements it,
// over the SSH connections of its placer (docs/knative.md).
type HostAdmin interface {
	// PodCIDR is the range of pod addresses the node agent on worker host
	// h hands out.
	PodCIDR(h Host) (netip.Prefix, error)
	// RunRoot runs the bash script as root on h and returns its standard
	// output; an error names h and quotes the script's standard error.
	RunRoot(ctx context.Context, h Host, script string) (string, error)
	// Install copies the local executable to path on h (mode 0755), unless
	// a file with the same content is there already.
	Install(ctx context.Context, h Host, local, path string) error
}
