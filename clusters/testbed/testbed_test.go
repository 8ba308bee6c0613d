package testbed

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/clusters/cloudlab"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
		hosts   []Host
	}{
		{name: "defaults", o: Options{Dir: "/x"}, hosts: []Host{
			{"cp", "control-plane", "10.77.1.10"}, {"w1", "worker", "10.77.1.11"},
			{"w2", "worker", "10.77.1.12"}, {"w3", "worker", "10.77.1.13"}}},
		{name: "one worker, other subnet", o: Options{Dir: "/x", Workers: 1, Subnet: "192.168.9.0/24"}, hosts: []Host{
			{"cp", "control-plane", "192.168.9.10"}, {"w1", "worker", "192.168.9.11"}}},
		{name: "public subnet", o: Options{Subnet: "8.8.8.0/24"}, wantErr: "private IPv4"},
		{name: "small subnet", o: Options{Subnet: "10.77.1.0/28"}, wantErr: "/24 or larger"},
		{name: "bad name", o: Options{Name: "kd-tb"}, wantErr: "lower-case letters"},
		{name: "long name", o: Options{Name: "kdbenchtb"}, wantErr: "1 to 8"},
		{name: "too many workers", o: Options{Workers: 201}, wantErr: "1 to 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := plan(tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tb.Hosts) != len(tc.hosts) {
				t.Fatalf("hosts = %v, want %v", tb.Hosts, tc.hosts)
			}
			for i := range tc.hosts {
				if tb.Hosts[i] != tc.hosts[i] {
					t.Errorf("host %d = %v, want %v", i, tb.Hosts[i], tc.hosts[i])
				}
			}
		})
	}
}

// The inventory is read by clusters/cloudlab: it must parse there into the
// same hosts, roles and addresses.
func TestInventoryFormat(t *testing.T) {
	tb, err := plan(Options{Dir: "/tmp/tb"})
	if err != nil {
		t.Fatal(err)
	}
	data := tb.inventory()
	golden(t, "hosts", data)
	inv, err := cloudlab.ParseHosts(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Nodes) != len(tb.Hosts) {
		t.Fatalf("cloudlab read %d nodes, want %d", len(inv.Nodes), len(tb.Hosts))
	}
	for i, n := range inv.Nodes {
		h := tb.Hosts[i]
		if n.Name != h.Name || string(n.Role) != h.Role || n.IP != h.IP || n.Host != h.IP || n.Port != 22 || n.User != "root" {
			t.Errorf("node %d = %+v, want host %+v reached as root@%s:22", i, n, h, h.IP)
		}
	}
}

func TestSSHDConfig(t *testing.T) {
	golden(t, "sshd_config", []byte(sshdConfig(Host{Name: "w2", Role: "worker", IP: "10.77.1.12"}, "/tmp/tb")))
}

// TestUpDown builds a real testbed: needs root, ip and sshd (make
// e2e-multihost installs it), so it is skipped elsewhere.
func TestUpDown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"ip", sshdPath, "ssh"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install -y iproute2 openssh-server)", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const name = "kdtbtest"
	dir := filepath.Join(t.TempDir(), "tb")

	// A crashed run's leftovers: a namespace with a process in it.
	if _, err := run(ctx, "stale namespace", "ip", "netns", "add", name+"-w9"); err != nil {
		t.Fatal(err)
	}
	if _, err := startDaemon(name+"-w9", []string{"sleep", "300"}, filepath.Join(t.TempDir(), "sleep.log")); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	tb, err := Up(ctx, Options{Name: name, Dir: dir, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	downed := false
	defer func() {
		if !downed {
			_ = tb.Down(context.Background())
		}
	}()
	t.Logf("up in %s", time.Since(start))
	if _, ok := tb.Host("w9"); ok {
		t.Fatal("w9 is not part of this testbed")
	}
	nss, err := namespaces(ctx, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{name + "-cp", name + "-lan", name + "-w1", name + "-w2", name + "-w3"}; !sameSet(nss, want) {
		t.Fatalf("namespaces %v, want %v (the stale %s-w9 removed)", nss, want, name)
	}

	// From cp into every host, and from a worker into cp, with OpenSSH's
	// client: the session must run in the target's namespace (its eth0 has
	// its address).
	for _, from := range []string{"cp", "w2"} {
		for _, to := range tb.Hosts {
			if from != "cp" && to.Name != "cp" {
				continue
			}
			cmd := tb.Command(ctx, from, "ssh", "-i", tb.Key(), "-o", "UserKnownHostsFile="+tb.KnownHosts(),
				"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
				"root@"+to.IP, "ip -4 -o addr show dev eth0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ssh %s → %s: %v\n%s", from, to.Name, err, out)
			}
			if !strings.Contains(string(out), " "+to.IP+"/24 ") {
				t.Errorf("ssh %s → %s ran where eth0 is %q", from, to.Name, out)
			}
			// Its /opt is its own.
			mark := filepath.Join("/opt", "kdtb-mark-"+from)
			out, err = tb.Command(ctx, from, "ssh", "-i", tb.Key(), "-o", "UserKnownHostsFile="+tb.KnownHosts(), "-o", "BatchMode=yes",
				"root@"+to.IP, "touch "+mark+" && ls /opt").CombinedOutput()
			if err != nil {
				t.Fatalf("ssh %s → %s: %v\n%s", from, to.Name, err, out)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Errorf("%s's /opt is this machine's", to.Name)
			}
			if _, err := os.Stat(filepath.Join(tb.Dir, to.Name, "fs", "opt", filepath.Base(mark))); err != nil {
				t.Errorf("%s wrote %s elsewhere than its private /opt: %v (ls /opt: %s)", to.Name, mark, err, out)
			}
		}
	}
	// sshd listens on the LAN address only, and the LAN is not reachable
	// from the root namespace.
	if out, err := tb.Command(ctx, "w1", "ssh", "-i", tb.Key(), "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
		"-o", "StrictHostKeyChecking=no", "root@127.0.0.1", "true").CombinedOutput(); err == nil {
		t.Errorf("sshd of w1 answers on loopback: %s", out)
	}
	if out, err := run(ctx, "root namespace addresses", "ip", "-o", "addr", "show"); err != nil || strings.Contains(out, " 10.77.1.") || strings.Contains(out, " v-cp") {
		t.Errorf("the root namespace has a testbed address or port (%v):\n%s", err, out)
	}
	if _, err := cloudlab.LoadInventory(tb.Inventory()); err != nil {
		t.Errorf("inventory: %v", err)
	}

	t.Logf("ssh checks done at %s", time.Since(start))
	downed = true
	if err := tb.Down(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := Leftovers(ctx, name, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("after Down: %v", left)
	}
	if err := tb.Down(ctx); err != nil {
		t.Fatalf("second Down: %v", err)
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}
