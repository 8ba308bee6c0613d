package knative

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kdbench/kdbench/clusters"
)

// Pod addresses on a multi-host cluster (docs/knative.md). Each worker
// host's node agent hands out pod IPs from a range of its own (a /17 of
// the pod CIDR). On each worker a local route for that range lets the
// agent's queue-proxies bind any pod IP in it without a network namespace;
// on the control-plane host one route per worker sends the range to that
// worker's LAN address, so that the activator's probes and requests and the
// autoscaler's scrapes reach the pods. The routes carry a protocol number
// of kdbench's, so that tear-down, and the next Prepare after a killed
// harness, remove exactly them.

// routeProto marks kdbench's pod routes (`ip route … proto 176`; no name
// in iproute2's rt_protos).
const routeProto = "176"

// flushRoutes removes every route of routeProto on a host, from the local
// table (a worker's) and the main one (the control plane's).
const flushRoutes = "ip route flush table local proto " + routeProto + "\nip route flush proto " + routeProto + "\n"

// podRoutes are the routes made on a cluster's hosts.
type podRoutes struct {
	admin clusters.HostAdmin
	cp    clusters.Host

	mu      sync.Mutex
	touched []clusters.Host // hosts that may hold routes
}

// workerRoutes makes the pod range of a worker's agent local on it.
func workerRoutes(cidr netip.Prefix) string {
	return flushRoutes + "ip route replace local " + cidr.String() + " dev lo proto " + routeProto + "\n"
}

// controlPlaneRoutes sends each worker's pod range (cidrs[i]) to it
// (addrs[i]).
func controlPlaneRoutes(cidrs []netip.Prefix, addrs []string) string {
	var b strings.Builder
	b.WriteString(flushRoutes)
	for i, c := range cidrs {
		fmt.Fprintf(&b, "ip route replace %s via %s proto %s\n", c, addrs[i], routeProto)
	}
	return b.String()
}

func (r *podRoutes) touch(h clusters.Host) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.ContainsFunc(r.touched, func(t clusters.Host) bool { return t.Name == h.Name }) {
		r.touched = append(r.touched, h)
	}
}

// add makes the routes for workers' pod ranges.
func (r *podRoutes) add(ctx context.Context, workers []clusters.Host) error {
	var cidrs []netip.Prefix
	var addrs []string
	for _, w := range workers {
		cidr, err := r.admin.PodCIDR(w)
		if err != nil {
			return err
		}
		if _, err := netip.ParseAddr(w.Addr); err != nil {
			return fmt.Errorf("worker host %s has no LAN address (%q) to route its pods' %s to", w.Name, w.Addr, cidr)
		}
		for i, c := range cidrs {
			if c.Overlaps(cidr) {
				return fmt.Errorf("the pod ranges of %s (%s) and %s (%s) overlap", workers[i].Name, c, w.Name, cidr)
			}
		}
		cidrs, addrs = append(cidrs, cidr), append(addrs, w.Addr)
	}
	for i, w := range workers {
		r.touch(w)
		if _, err := r.admin.RunRoot(ctx, w, workerRoutes(cidrs[i])); err != nil {
			return fmt.Errorf("making the node agent's pod range %s local on %s: %w", cidrs[i], w.Name, err)
		}
	}
	r.touch(r.cp)
	if _, err := r.admin.RunRoot(ctx, r.cp, controlPlaneRoutes(cidrs, addrs)); err != nil {
		return fmt.Errorf("routing the workers' pod ranges on the control-plane host %s: %w", r.cp.Name, err)
	}
	return nil
}

// remove removes kdbench's pod routes from every host add touched.
func (r *podRoutes) remove(ctx context.Context) error {
	r.mu.Lock()
	hosts := r.touched
	r.touched = nil
	r.mu.Unlock()
	// Also after a cancelled run: the routes must go.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var errs []error
	for _, h := range hosts {
		if _, err := r.admin.RunRoot(ctx, h, flushRoutes); err != nil {
			errs = append(errs, fmt.Errorf("removing the pod routes (proto %s) on %s: %w", routeProto, h.Name, err))
		}
	}
	return errors.Join(errs...)
}
