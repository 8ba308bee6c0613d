package testbed

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Each host runs Debian's OpenSSH server with a config of its own: its own
// host key, listening only on its LAN address, key-only logins (root
// allowed) with the one client key the testbed generates.

const sshdPath = "/usr/sbin/sshd"

// sshdConfig is the server configuration of host h. StrictModes is off
// because the testbed's files live under a temporary directory, whose
// parents sshd would judge too open.
func sshdConfig(h Host, dir string) string {
	return fmt.Sprintf(`# kdbench testbed: host %[1]s
ListenAddress %[2]s
HostKey %[3]s
PidFile none
AuthorizedKeysFile %[4]s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, h.Name, net.JoinHostPort(h.IP, "22"), filepath.Join(dir, h.Name, "ssh_host_ed25519_key"), filepath.Join(dir, "authorized_keys"))
}

// writeKey writes an ed25519 private key in OpenSSH format to path (0600)
// and returns its public key in authorized_keys format.
func writeKey(path, comment string) ([]byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment + "\n"
	return []byte(line), os.WriteFile(path+".pub", []byte(line), 0o644)
}

// startSSHD writes host h's keys and config, checks the config with
// `sshd -t`, starts sshd in h's namespace and waits until it accepts.
func (tb *Testbed) startSSHD(ctx context.Context, h Host) error {
	hdir := filepath.Join(tb.Dir, h.Name)
	if err := os.MkdirAll(hdir, 0o700); err != nil {
		return err
	}
	pub, err := writeKey(filepath.Join(hdir, "ssh_host_ed25519_key"), "kdbench-testbed-"+h.Name)
	if err != nil {
		return fmt.Errorf("testbed: host key of %s: %w", h.Name, err)
	}
	tb.hostKeys[h.Name] = pub
	cfg := filepath.Join(hdir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(sshdConfig(h, tb.Dir)), 0o644); err != nil {
		return err
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	if _, err := run(ctx, "checking sshd_config of "+h.Name, sshdPath, "-t", "-f", cfg); err != nil {
		return err
	}
	log := filepath.Join(hdir, "sshd.log")
	argv, err := privateDirs(hdir, []string{sshdPath, "-D", "-e", "-f", cfg})
	if err != nil {
		return err
	}
	if _, err := startDaemon(tb.Namespace(h.Name), argv, log); err != nil {
		return err
	}
	return tb.waitListening(ctx, h, log)
}

// PrivateDirs are the directories each host has of its own (bind mounts in
// a mount namespace of sshd's, inherited by every session): what kdbench
// installs on a node goes there, so hosts do not share it with each other or
// with this machine.
var PrivateDirs = []string{"/opt", "/usr/local/bin"}

// privateDirs wraps argv so that it runs in a new mount namespace where
// each of PrivateDirs is an empty directory under hdir/fs.
func privateDirs(hdir string, argv []string) ([]string, error) {
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, d := range PrivateDirs {
		src := filepath.Join(hdir, "fs", strings.ReplaceAll(strings.Trim(d, "/"), "/", "-"))
		if err := os.MkdirAll(src, 0o755); err != nil {
			return nil, err
		}
		fmt.Fprintf(&script, "mount --bind %s %s\n", src, d)
	}
	script.WriteString(`exec "$@"`)
	return append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script.String(), "sh"}, argv...), nil
}

// waitListening waits until sshd listens on h's LAN address, as seen from
// inside h's namespace.
func (tb *Testbed) waitListening(ctx context.Context, h Host, log string) error {
	want := net.JoinHostPort(h.IP, "22")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := run(ctx, "waiting for sshd on "+h.Name, "ip", "netns", "exec", tb.Namespace(h.Name), "ss", "-Hltn")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 4 && f[3] == want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(log)
			return fmt.Errorf("testbed: sshd of %s does not listen on %s after 10s; %s:\n%s", h.Name, want, log, strings.TrimSpace(string(data)))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
