package kd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// placed is a Kubedirect process: what it is and where it runs, so that a
// crashed one starts again the same way.
type placed struct {
	host    clusters.Host
	comp    clusters.Component
	metrics string // base URL of /metrics, /hops, /readyz
	proc    clusters.Process
}

// remotePortBase is where kd's listeners go on a host that is not this
// machine, whose free ports the harness cannot ask for: hop i listens on
// remotePortBase+2i and serves metrics on the port after.
const remotePortBase = 17400

// hostAddr picks a listening address on h: a free port when h's address is
// this machine's (the local cluster), else the fixed port remotePortBase+slot.
func hostAddr(h clusters.Host, slot int) (string, error) {
	if l, err := net.Listen("tcp", net.JoinHostPort(h.Addr, "0")); err == nil {
		defer l.Close()
		return l.Addr().String(), nil
	}
	if net.ParseIP(h.Addr) == nil {
		return "", fmt.Errorf("kd: host %s has no LAN address (%q)", h.Name, h.Addr)
	}
	return net.JoinHostPort(h.Addr, strconv.Itoa(remotePortBase+slot)), nil
}

// hosts picks where kd runs on the cluster: the hops on the control-plane
// host, the node side on the workers (docs/placement.md).
func hosts(c *clusters.Cluster, system string) (cp clusters.Host, workers []clusters.Host, err error) {
	if c.Placer == nil {
		return cp, nil, baselines.AsRefusal(fmt.Errorf("%s: cluster %q (provider %s) cannot place components on its hosts: Kubedirect's hops run on the control-plane host and its node side on the workers (docs/placement.md); use --provider local or cloudlab, or an existing cluster with an inventory",
			system, c.Name, c.Provider))
	}
	if cp, err = clusters.ControlPlaneHost(c.Placer); err != nil {
		return cp, nil, fmt.Errorf("%s: %w", system, err)
	}
	if workers = clusters.HostsWith(c.Placer, clusters.RoleWorker); len(workers) == 0 {
		return cp, nil, fmt.Errorf("%s: cluster %q has no %s host for the node side", system, c.Name, clusters.RoleWorker)
	}
	return cp, workers, nil
}

// startPlaced starts pl through the placer and records its process.
func startPlaced(ctx context.Context, p clusters.Placer, pl *placed) error {
	proc, err := p.Start(ctx, pl.host, pl.comp)
	if err != nil {
		return err
	}
	pl.proc = proc
	return nil
}

// waitReady waits until pl's process answers /readyz itself (procid).
func waitReady(ctx context.Context, pl *placed) error {
	p := pl.proc
	w := supervisor.Watch{Name: p.Name() + " on " + p.Host().Name, PID: p.PID(), Log: p.Log(), Done: p.Done(), Alive: p.Alive, LogTail: p.LogTail}
	return supervisor.WaitFor(ctx, w, supervisor.HTTPCheck(http.DefaultClient, pl.metrics+"/readyz"), 2*time.Minute)
}
