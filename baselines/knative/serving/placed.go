package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// Serving on a multi-host process control plane (docs/knative.md): the
// controller, autoscaler and activator run on the control-plane host,
// started through the cluster's Placer (so they die with the harness, as
// kd's hops do), from binaries installed there once per content.
//
// The autoscaler and the activator share the host's own network namespace:
// the activator-service Endpoints name the host's LAN address, the
// activator dials the autoscaler there by its cluster DNS name (a hosts
// file bind-mounted in a mount namespace of its own), and the autoscaler's
// metrics and profiling ports move off the activator's (9091, 8009). The
// controller gets a network namespace of its own: its health port, :8080
// on every address, is fixed in knative.dev/pkg's sharedmain and collides
// with the autoscaler's stats server, fixed at :8080 too. A veth pair
// joins it to the host, whose LAN address (the API server's) it reaches
// as a local address; it needs nothing else.

// Placement says where Serving's components run on a multi-host cluster.
type Placement struct {
	Placer clusters.Placer
	// Admin installs the binaries and makes the controller's namespace.
	Admin clusters.HostAdmin
	// Host is the control-plane host; its Addr is the activator's.
	Host clusters.Host
}

func (p *Placement) check() error {
	if p.Placer == nil || p.Admin == nil {
		return errors.New("knative: a placement needs the cluster's placer and host administration")
	}
	if a, err := netip.ParseAddr(p.Host.Addr); err != nil || !a.Is4() {
		return fmt.Errorf("knative: control-plane host %s has no IPv4 LAN address (%q) for the activator's Endpoints", p.Host.Name, p.Host.Addr)
	}
	return nil
}

// netnsName is the shell that sets ns to the controller's namespace.
const netnsName = `ns=` + ControllerNetns + `-$(stat -L -c %i /proc/self/ns/net)` + "\n"

// On the control-plane host.
const (
	// RemoteBinDir holds the binaries (cluster down removes /opt/kdbench).
	RemoteBinDir = "/opt/kdbench/knative-" + Version + "/bin"
	// ControllerNetns prefixes the controller's network namespace, named
	// after the host's own namespace (its inode: /run/netns is one directory
	// for every host of the testbed, which share this machine).
	ControllerNetns = "kdbench-kn-controller"
	controllerVeth  = "kn-controller" // the host's end; the namespace's is eth0
	controllerGW    = "10.127.9.1"    // the host's end of the veth
	controllerIP    = "10.127.9.2"
	// Ports moved off the activator's defaults (METRICS_PROMETHEUS_PORT,
	// PROFILING_PORT of knative.dev/pkg) in the shared namespace.
	autoscalerMetricsPort   = "9091"
	autoscalerProfilingPort = "8009"
)

// placed is Serving's processes on the control-plane host.
type placed struct {
	pl *Placement

	mu    sync.Mutex
	procs []clusters.Process
	netns bool // the controller's namespace may exist
}

// logDir is the directory of the components' logs on their host.
func (p *placed) logDir() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.procs) == 0 {
		return "(none started)"
	}
	_, log, _ := strings.Cut(p.procs[0].Log(), ":")
	return path.Dir(log)
}

// startPlaced installs the binaries on the control-plane host, makes the
// controller's namespace and starts the components in order, each healthy
// before the next (the activator's first dial then finds the autoscaler).
func (s *Serving) startPlaced(ctx context.Context, c *clusters.Cluster) error {
	o := s.opts
	h := o.Placement.Host
	s.placed = &placed{pl: o.Placement}
	kubeconfig, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("knative: the cluster's kubeconfig for its components: %w", err)
	}
	for _, comp := range components {
		if err := o.Placement.Admin.Install(ctx, h, filepath.Join(o.BinDir, comp.name), path.Join(RemoteBinDir, comp.name)); err != nil {
			return fmt.Errorf("knative: the %s binary: %w", comp.name, err)
		}
	}
	s.placed.netns = true
	if _, err := o.Placement.Admin.RunRoot(ctx, h, controllerNetnsScript()); err != nil {
		return fmt.Errorf("knative: the controller's network namespace %s-<inode>: %w", ControllerNetns, err)
	}
	for _, comp := range components {
		pc := placedComponent(comp, h.Addr, kubeconfig)
		proc, err := o.Placement.Placer.Start(ctx, h, pc)
		if err != nil {
			return fmt.Errorf("knative: %w", err)
		}
		s.placed.mu.Lock()
		s.placed.procs = append(s.placed.procs, proc)
		s.placed.mu.Unlock()
		s.comps = append(s.comps, Component{Name: comp.name, Real: true, Version: Version, Log: proc.Log()})
		w := supervisor.Watch{Name: pc.Name + " on " + h.Name, PID: proc.PID(), Log: proc.Log(), Done: proc.Done(), Alive: proc.Alive, LogTail: proc.LogTail}
		if e, ok := proc.(interface{ Err() error }); ok {
			w.Err = e.Err
		}
		if err := supervisor.WaitFor(ctx, w, s.placed.healthy(comp.name), o.Timeout); err != nil {
			if comp.name == "controller" {
				err = fmt.Errorf("%w\n(the controller runs under `ip netns exec %s-<inode>`, which needs the cluster's SSH login to be root)", err, ControllerNetns)
			}
			return fmt.Errorf("knative: %w", errors.Join(err, s.placed.exited(proc)))
		}
	}
	return nil
}

// placedComponent is comp as the placer starts it on the control-plane
// host at addr: a launcher script with its environment, the kubeconfig and,
// for the activator, its hosts file, in its directory there.
func placedComponent(comp component, addr string, kubeconfig []byte) clusters.Component {
	env := componentEnv(comp, "kubeconfig")
	delete(env, "KUBECONFIG") // set from the launcher's directory, below
	if _, ok := env["POD_IP"]; ok {
		env["POD_IP"] = addr
	}
	if comp.name == "autoscaler" {
		env["METRICS_PROMETHEUS_PORT"] = autoscalerMetricsPort
		env["PROFILING_PORT"] = autoscalerProfilingPort
	}
	bin := path.Join(RemoteBinDir, comp.name)
	var b strings.Builder
	b.WriteString("# Knative Serving's " + comp.name + ", started by kdbench (docs/knative.md)\n")
	b.WriteString("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
	b.WriteString(`export KUBECONFIG="$PWD/kubeconfig"` + "\n")
	for _, kv := range envList(env) {
		b.WriteString("export " + shQuoteEnv(kv) + "\n")
	}
	files := []clusters.File{{Path: "kubeconfig", Data: kubeconfig}}
	switch comp.name {
	case "controller":
		b.WriteString(netnsName + `exec ip netns exec "$ns" ` + bin + "\n")
	case "activator":
		// Its own mount namespace sees the hosts file on /etc/hosts; a
		// login that is not root maps itself to root for it.
		b.WriteString(`u=; [ "$(id -u)" = 0 ] || u=--map-root-user` + "\n")
		b.WriteString(`exec unshare $u --mount sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$PWD/hosts" ` + bin + "\n")
		files = append(files, clusters.File{Path: "hosts", Data: hostsFile(addr), Mode: 0o644})
	default:
		b.WriteString("exec " + bin + "\n")
	}
	files = append(files, clusters.File{Path: "run.sh", Data: []byte(b.String()), Mode: 0o700})
	return clusters.Component{Name: "knative-" + comp.name, Path: "/bin/sh", Args: []string{"run.sh"}, Files: files}
}

// shQuoteEnv quotes KEY=value for sh's export.
func shQuoteEnv(kv string) string {
	k, v, _ := strings.Cut(kv, "=")
	return k + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// controllerNetnsScript makes the controller's namespace, first removing
// one a killed harness left (its controller died with the lifeline).
func controllerNetnsScript() string {
	return netnsName + `if [ -e "/run/netns/$ns" ]; then
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$ns"
fi
ip link delete ` + controllerVeth + ` 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip link add ` + controllerVeth + ` type veth peer name eth0 netns "$ns"
ip addr add ` + controllerGW + `/30 dev ` + controllerVeth + `
ip link set ` + controllerVeth + ` up
ip -n "$ns" addr add ` + controllerIP + `/30 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" route add default via ` + controllerGW + `
`
}

// removeNetnsScript removes the controller's namespace and its veth.
func removeNetnsScript() string {
	return netnsName + `if [ -e "/run/netns/$ns" ]; then
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$ns"
fi
ip link delete ` + controllerVeth + ` 2>/dev/null || true
`
}

// healthy is each component's start-up check: the controller's health port
// inside its namespace (over SSH, every half second), the autoscaler's
// stats server and the activator's HTTP port at the host's address.
func (p *placed) healthy(name string) supervisor.Check {
	addr := p.pl.Host.Addr
	switch name {
	case "controller":
		var last time.Time
		return func(ctx context.Context, _ int) error {
			if d := time.Until(last.Add(500 * time.Millisecond)); d > 0 {
				time.Sleep(d)
			}
			last = time.Now()
			_, err := p.pl.Admin.RunRoot(ctx, p.pl.Host, netnsName+`ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080'`)
			return err
		}
	case "autoscaler":
		return dialCheck(net.JoinHostPort(addr, "8080"))
	default:
		return dialCheck(net.JoinHostPort(addr, "8012"))
	}
}

func dialCheck(addr string) supervisor.Check {
	return func(ctx context.Context, _ int) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// exited names the components, except one, that no longer run.
func (p *placed) exited(except clusters.Process) error {
	p.mu.Lock()
	procs := append([]clusters.Process(nil), p.procs...)
	p.mu.Unlock()
	var errs []error
	for _, pr := range procs {
		if pr == except || pr.Alive() {
			continue
		}
		if e, ok := pr.(interface{ Err() error }); ok {
			errs = append(errs, e.Err())
			continue
		}
		errs = append(errs, fmt.Errorf("%s on %s exited; log %s:\n%s", pr.Name(), pr.Host().Name, pr.Log(), pr.LogTail(15)))
	}
	return errors.Join(errs...)
}

// close stops the components, the activator first, then removes the
// controller's namespace.
func (p *placed) close(ctx context.Context) error {
	p.mu.Lock()
	procs := p.procs
	p.procs = nil
	p.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(5 * time.Second)
	}
	if !p.netns {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := p.pl.Admin.RunRoot(ctx, p.pl.Host, removeNetnsScript()); err != nil {
		return fmt.Errorf("knative: removing the controller's network namespace %s-<inode>: %w", ControllerNetns, err)
	}
	p.netns = false
	return nil
}
