package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The LAN: one namespace holding a bridge, one namespace per host with a veth
// into it. Nothing is attached to the root namespace and no host has a
// default route, so traffic stays between the testbed's namespaces.

const (
	bridgeHost = "lan" // the bridge's namespace is <name>-lan
	bridgeDev  = "br0"
	hostDev    = "eth0"
)

// createLAN makes the bridge namespace and one connected namespace per host.
func (tb *Testbed) createLAN(ctx context.Context) error {
	br := tb.Namespace(bridgeHost)
	steps := [][]string{
		{"ip", "netns", "add", br},
		{"ip", "-n", br, "link", "set", "lo", "up"},
		{"ip", "-n", br, "link", "add", bridgeDev, "type", "bridge"},
		{"ip", "-n", br, "link", "set", bridgeDev, "up"},
	}
	for _, h := range tb.Hosts {
		ns, port := tb.Namespace(h.Name), "v-"+h.Name
		steps = append(steps,
			[]string{"ip", "netns", "add", ns},
			[]string{"ip", "-n", ns, "link", "set", "lo", "up"},
			// Both ends are created inside their namespaces: neither ever
			// appears in the root namespace.
			[]string{"ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", hostDev, "netns", ns},
			[]string{"ip", "-n", br, "link", "set", port, "master", bridgeDev},
			[]string{"ip", "-n", br, "link", "set", port, "up"},
			[]string{"ip", "-n", ns, "addr", "add", h.IP + "/" + strconv.Itoa(tb.prefixLen), "dev", hostDev},
			[]string{"ip", "-n", ns, "link", "set", hostDev, "up"},
		)
	}
	for _, argv := range steps {
		if _, err := run(ctx, "creating the LAN", argv...); err != nil {
			return err
		}
	}
	return nil
}

// namespaces lists the network namespaces whose names start with prefix.
func namespaces(ctx context.Context, prefix string) ([]string, error) {
	out, err := run(ctx, "listing namespaces", "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		// "kdtb-cp (id: 3)" or "kdtb-cp"
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// removeNamespace kills every process inside ns (sshd and its sessions, or
// anything a test left there), then deletes ns.
func removeNamespace(ctx context.Context, ns string) error {
	var errs []error
	for attempt := 0; ; attempt++ {
		pids, err := namespacePIDs(ctx, ns)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(pids) == 0 {
			break
		}
		if attempt == 50 { // 5 s
			errs = append(errs, fmt.Errorf("testbed: processes %v in namespace %s survived SIGKILL", pids, ns))
			break
		}
		sig := syscall.SIGTERM
		if attempt >= 20 { // after 2 s of grace
			sig = syscall.SIGKILL
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("testbed: signalling pid %d in namespace %s: %w", pid, ns, err))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := run(ctx, "deleting namespace "+ns, "ip", "netns", "del", ns); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// namespacePIDs lists the processes whose network namespace is ns.
func namespacePIDs(ctx context.Context, ns string) ([]int, error) {
	out, err := run(ctx, "listing the processes of namespace "+ns, "ip", "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("testbed: `ip netns pids %s` printed %q", ns, out)
		}
		if pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
