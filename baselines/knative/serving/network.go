package serving

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kdbench/kdbench/internal/netns"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// The network of one installation (docs/knative.md): four namespaces of its
// own, nothing added to the machine's. "pods" owns the whole pod CIDR as
// local addresses (the node agent's pods bind their IPs there) and routes
// between the activator's and the autoscaler's namespaces; the controller
// needs only the API server.
const (
	// PodCIDR is the node agent's pod range (clusters/local/nodeagent/ipam.go).
	PodCIDR = "10.128.0.0/9"

	activatorIP  = "10.127.1.2" // Endpoints of activator-service: not loopback, not link-local
	autoscalerIP = "10.127.2.2"
)

// link is one veth pair from the pods namespace to a component's.
type link struct {
	role     string // the component namespace
	hub, end string // addresses with prefix: pods side, component side
}

var links = []link{
	{"activator", "10.127.1.1/24", activatorIP + "/24"},
	{"autoscaler", "10.127.2.1/24", autoscalerIP + "/24"},
}

// roles are the namespaces of one installation.
var roles = []string{"pods", "activator", "autoscaler", "controller"}

const nsPrefix = "kdbench-kn-"

var installs atomic.Int64

// network is the namespaces of one installation, by role.
type network struct {
	names map[string]string // role → namespace name
}

func (n *network) path(role string) string { return netns.Path(n.names[role]) }

func ip(ctx context.Context, args ...string) error {
	_, err := supervisor.Output(ctx, supervisor.Command{Path: "ip", Args: args})
	return err
}

// newNetwork creates the namespaces, links and routes. On error it removes
// what it made.
func newNetwork(ctx context.Context) (_ *network, err error) {
	sweepStale(ctx)
	id := fmt.Sprintf("%s%d-%d-", nsPrefix, os.Getpid(), installs.Add(1))
	n := &network{names: map[string]string{}}
	for _, r := range roles {
		n.names[r] = id + r
	}
	defer func() {
		if err != nil {
			n.remove(context.WithoutCancel(ctx))
		}
	}()
	for _, r := range roles {
		if err := ip(ctx, "netns", "add", n.names[r]); err != nil {
			return nil, fmt.Errorf("knative network: %w", err)
		}
		if err := ip(ctx, "-n", n.names[r], "link", "set", "lo", "up"); err != nil {
			return nil, fmt.Errorf("knative network: %w", err)
		}
	}
	pods := n.names["pods"]
	steps := [][]string{
		// Every pod IP is a local address here, bindable without being assigned.
		{"-n", pods, "route", "add", "local", PodCIDR, "dev", "lo"},
	}
	for _, l := range links {
		peer := n.names[l.role]
		hub, end := "to-"+l.role[:4], "pods"
		gw, _, _ := strings.Cut(l.hub, "/")
		steps = append(steps,
			[]string{"-n", pods, "link", "add", hub, "type", "veth", "peer", "name", end, "netns", peer},
			[]string{"-n", pods, "addr", "add", l.hub, "dev", hub},
			[]string{"-n", pods, "link", "set", hub, "up"},
			[]string{"-n", peer, "addr", "add", l.end, "dev", end},
			[]string{"-n", peer, "link", "set", end, "up"},
			[]string{"-n", peer, "route", "add", "default", "via", gw},
		)
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			return nil, fmt.Errorf("knative network: %w", err)
		}
	}
	// The pods namespace forwards between the activator and the autoscaler.
	if err := netns.Do(n.path("pods"), func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644)
	}); err != nil {
		return nil, fmt.Errorf("knative network: enabling forwarding in %s: %w", pods, err)
	}
	return n, nil
}

// remove deletes the namespaces (their veths go with them). Processes must
// be gone first, or a namespace lives on with them.
func (n *network) remove(ctx context.Context) error {
	var errs []error
	for _, r := range roles {
		name := n.names[r]
		if _, err := os.Stat(netns.Path(name)); os.IsNotExist(err) {
			continue
		}
		if err := ip(ctx, "netns", "delete", name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweepStale deletes namespaces left by a kdbench process that no longer
// runs (killed before its clean-up): its components died with it
// (Pdeathsig), but named namespaces outlive every process.
func sweepStale(ctx context.Context) {
	ents, _ := os.ReadDir(netns.Dir)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || !supervisor.Gone(pid) {
			continue
		}
		_ = ip(ctx, "netns", "delete", e.Name())
	}
}
