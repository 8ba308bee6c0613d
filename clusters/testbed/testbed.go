// Package testbed builds a multi-host cluster on one Linux machine for
// end-to-end tests: each host is a network namespace (a control plane "cp"
// and workers "w1".."wN") on a private LAN whose bridge lives in a namespace
// of its own, each running a real OpenSSH server. It writes an inventory in
// the hosts-file format of clusters/cloudlab, so that kdbench reaches the
// hosts exactly as it reaches CloudLab machines. It needs root, ip
// (iproute2) and /usr/sbin/sshd (Debian's openssh-server).
//
// The hosts share this machine's file system and processes' view of it:
// only the network is separate.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdbench/kdbench/internal/fsutil"
)

// Options describe the testbed to build.
type Options struct {
	// Name prefixes every namespace (<name>-cp, <name>-w1, <name>-lan);
	// namespaces with this prefix left by a crashed run are removed by Up.
	// Default "kdtb".
	Name string
	// Workers is the number of worker hosts (default 3).
	Workers int
	// Subnet is the LAN, a private IPv4 network used only inside the
	// testbed (default 10.77.1.0/24). cp is .10, wI is .(10+I).
	Subnet string
	// Dir holds keys, configs, logs and the inventory (default
	// $TMPDIR/kdbench-testbed-<name>); Down removes it.
	Dir string
}

// Host is one machine of the testbed.
type Host struct {
	Name string
	Role string // "control-plane" or "worker", as in the inventory
	IP   string
}

// Testbed is a running testbed.
type Testbed struct {
	Name  string
	Dir   string
	Hosts []Host // control plane first

	prefixLen int
	hostKeys  map[string][]byte // host → public key line
}

// Files of a running testbed.
func (tb *Testbed) Inventory() string  { return filepath.Join(tb.Dir, "hosts") }
func (tb *Testbed) Key() string        { return filepath.Join(tb.Dir, "id_ed25519") }
func (tb *Testbed) KnownHosts() string { return filepath.Join(tb.Dir, "known_hosts") }

// Namespace is the network namespace of the named host.
func (tb *Testbed) Namespace(host string) string { return tb.Name + "-" + host }

// Host returns the named host.
func (tb *Testbed) Host(name string) (Host, bool) {
	for _, h := range tb.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return Host{}, false
}

func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = "kdtb"
	}
	// Namespace and veth names must stay short and shell-safe.
	if len(o.Name) > 8 || strings.Trim(o.Name, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return o, fmt.Errorf("testbed name %q: want 1 to 8 lower-case letters and digits", o.Name)
	}
	if o.Workers == 0 {
		o.Workers = 3
	}
	if o.Workers < 1 || o.Workers > 200 {
		return o, fmt.Errorf("testbed: %d workers, want 1 to 200", o.Workers)
	}
	if o.Subnet == "" {
		o.Subnet = "10.77.1.0/24"
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(os.TempDir(), "kdbench-testbed-"+o.Name)
	}
	return o, nil
}

// plan names the hosts and their addresses without touching the system.
func plan(o Options) (*Testbed, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	ip, subnet, err := net.ParseCIDR(o.Subnet)
	if err != nil || ip.To4() == nil || !ip.IsPrivate() {
		return nil, fmt.Errorf("testbed subnet %q: want a private IPv4 network such as 10.77.1.0/24", o.Subnet)
	}
	ones, bits := subnet.Mask.Size()
	if bits-ones < 8 {
		return nil, fmt.Errorf("testbed subnet %s: want a /24 or larger", o.Subnet)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	tb := &Testbed{Name: o.Name, Dir: dir, prefixLen: ones, hostKeys: map[string][]byte{}}
	addr := func(i int) string {
		a := subnet.IP.To4()
		return net.IPv4(a[0], a[1], a[2], a[3]+byte(10+i)).String()
	}
	tb.Hosts = append(tb.Hosts, Host{Name: "cp", Role: "control-plane", IP: addr(0)})
	for i := 1; i <= o.Workers; i++ {
		tb.Hosts = append(tb.Hosts, Host{Name: fmt.Sprintf("w%d", i), Role: "worker", IP: addr(i)})
	}
	return tb, nil
}

// Up removes what a crashed run with the same name left, then builds the
// testbed. On error it tears down what it built.
func Up(ctx context.Context, o Options) (_ *Testbed, err error) {
	tb, err := plan(o)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("testbed: needs root (network namespaces, sshd)")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		return nil, fmt.Errorf("testbed: %s is missing: install Debian's openssh-server (apt-get install -y openssh-server)", sshdPath)
	}
	if err := Clean(ctx, tb.Name, tb.Dir); err != nil {
		return nil, fmt.Errorf("testbed: removing a previous run's leftovers: %w", err)
	}
	defer func() {
		if err != nil {
			if derr := tb.Down(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	if err := os.MkdirAll(tb.Dir, 0o700); err != nil {
		return tb, err
	}
	if err := tb.createLAN(ctx); err != nil {
		return tb, err
	}
	pub, err := writeKey(tb.Key(), "kdbench-testbed-client")
	if err != nil {
		return tb, fmt.Errorf("testbed: client key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tb.Dir, "authorized_keys"), pub, 0o600); err != nil {
		return tb, err
	}
	for _, h := range tb.Hosts {
		if err := tb.startSSHD(ctx, h); err != nil {
			return tb, err
		}
	}
	if err := fsutil.WriteFileAtomic(tb.KnownHosts(), tb.knownHosts(), 0o644); err != nil {
		return tb, err
	}
	return tb, fsutil.WriteFileAtomic(tb.Inventory(), tb.inventory(), 0o644)
}

// inventory is the hosts file clusters/cloudlab reads:
// name [user@]host[:port] lan-ip role.
func (tb *Testbed) inventory() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# kdbench testbed %q: network namespaces %s-*, SSH key %s\n", tb.Name, tb.Name, tb.Key())
	for _, h := range tb.Hosts {
		fmt.Fprintf(&b, "%s root@%s:22 %s %s\n", h.Name, h.IP, h.IP, h.Role)
	}
	return []byte(b.String())
}

// knownHosts pins every host's key, for OpenSSH clients (kdbench's own
// client trusts on first use and pins them itself).
func (tb *Testbed) knownHosts() []byte {
	var b strings.Builder
	for _, h := range tb.Hosts {
		key := strings.Fields(string(tb.hostKeys[h.Name]))
		fmt.Fprintf(&b, "%s %s %s\n", h.IP, key[0], key[1])
	}
	return []byte(b.String())
}

// Down stops every process in the testbed's namespaces, deletes them and
// removes its directory. It is idempotent.
func (tb *Testbed) Down(ctx context.Context) error {
	return Clean(ctx, tb.Name, tb.Dir)
}

// Clean removes every namespace named <name>-* (with the processes inside)
// and dir: what a testbed of that name leaves, even after a crash.
func Clean(ctx context.Context, name, dir string) error {
	nss, err := namespaces(ctx, name+"-")
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range nss {
		if err := removeNamespace(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("testbed: removing %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// Leftovers lists what a testbed still has on this machine: namespaces
// named <name>-*, any sshd started with a config under dir (one that
// escaped its namespace's deletion), and dir itself. Empty after Down.
func Leftovers(ctx context.Context, name, dir string) ([]string, error) {
	nss, err := namespaces(ctx, name+"-")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ns := range nss {
		pids, err := namespacePIDs(ctx, ns)
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("namespace %s (pids %v)", ns, pids))
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err == nil && dir != "" && strings.Contains(string(data), filepath.Join(dir, "")+"/") && strings.Contains(string(data), "sshd_config") {
			out = append(out, fmt.Sprintf("process %s: %s", filepath.Base(filepath.Dir(p)), strings.ReplaceAll(string(data), "\x00", " ")))
		}
	}
	if _, err := os.Stat(dir); err == nil {
		out = append(out, "directory "+dir)
	}
	return out, nil
}
