package cloudlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Login says how to reach the nodes. Empty fields come from the manifest
// (the user) or from ~/.ssh/config (User, IdentityFile, ProxyJump).
type Login struct {
	User string
	// Key is a private key file; without one, ssh-agent's keys are tried.
	Key string
	// Jump is a bastion, [user@]host[:port].
	Jump string
	// SSHConfig is the ssh_config file to read (default ~/.ssh/config).
	SSHConfig string
}

// conn runs commands on one node.
type conn interface {
	// run executes cmd with stdin; a non-zero exit is an *ssh.ExitError.
	run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
	// lost says why the connection ended (nil while it is usable).
	lost() error
	// ended closes when the connection did.
	ended() <-chan struct{}
	Close() error
}

// dialer opens SSH connections to nodes, through the jump host if any,
// trusting each host key on first use and checking it afterwards
// (CloudLab machines are reimaged for every experiment, so no key is known
// in advance; the work dir's known_hosts pins them for the cluster's life).
type dialer struct {
	login   Login
	cfg     *ssh_config.Config
	hosts   *tofu
	timeout time.Duration
	// keepalive: a request every keepalive, the connection closed when one
	// goes unanswered for keepaliveTimeout (a host that died or was cut
	// off sends no FIN; without this a session would wait for TCP to
	// give up, for hours).
	keepalive, keepaliveTimeout time.Duration

	authMu sync.Mutex
	auth   map[string][]ssh.AuthMethod // by key file ("" for agent and defaults)

	jumpOnce sync.Once
	jump     *ssh.Client
	jumpErr  error
}

// newDialer reads l.SSHConfig, or ~/.ssh/config if it can: the parser
// rejects Match blocks, and a default file it cannot read is skipped with a
// warning rather than stopping users whose flags say all that is needed.
func newDialer(l Login, knownHostsPath string, warn func(string)) (*dialer, error) {
	d := &dialer{login: l, timeout: 30 * time.Second, keepalive: 5 * time.Second, keepaliveTimeout: 15 * time.Second,
		auth: map[string][]ssh.AuthMethod{}}
	path := l.SSHConfig
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".ssh", "config")
		}
	}
	if f, err := os.Open(path); err == nil {
		d.cfg, err = ssh_config.Decode(f)
		f.Close()
		if err != nil && l.SSHConfig != "" {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err != nil {
			d.cfg = nil
			warn(fmt.Sprintf("ignoring %s: %v; pass --user, --key and --jump as needed", path, err))
		}
	} else if l.SSHConfig != "" {
		return nil, err
	}
	var err error
	if d.hosts, err = newTOFU(knownHostsPath); err != nil {
		return nil, err
	}
	return d, nil
}

// get reads key for host from the ssh_config file, "" if unset.
func (d *dialer) get(host, key string) string {
	if d.cfg == nil {
		return ""
	}
	v, _ := d.cfg.Get(host, key)
	return v
}

// user picks the login name: --user, else the manifest's, else ssh_config's,
// else the local user's.
func (d *dialer) user(n Node) string {
	for _, u := range []string{d.login.User, n.User, d.get(n.Host, "User"), os.Getenv("USER")} {
		if u != "" {
			return u
		}
	}
	return "root"
}

// authFor picks the key for host: --key, else ssh_config's IdentityFile,
// else ssh-agent or ~/.ssh/id_*. Keys are read once.
func (d *dialer) authFor(host string) ([]ssh.AuthMethod, error) {
	key := d.login.Key
	if key == "" {
		key = d.get(host, "IdentityFile")
		if strings.HasPrefix(key, "~/") {
			home, _ := os.UserHomeDir()
			key = filepath.Join(home, key[2:])
		}
	}
	d.authMu.Lock()
	defer d.authMu.Unlock()
	if a, ok := d.auth[key]; ok {
		return a, nil
	}
	a, err := authMethods(key)
	if err != nil {
		return nil, err
	}
	d.auth[key] = a
	return a, nil
}

func (d *dialer) clientConfig(host, user string) (*ssh.ClientConfig, error) {
	auth, err := d.authFor(host)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{User: user, Auth: auth, HostKeyCallback: d.hosts.check, Timeout: d.timeout}, nil
}

func (d *dialer) dial(ctx context.Context, n Node) (conn, error) {
	jumpSpec := d.login.Jump
	if jumpSpec == "" {
		jumpSpec = d.get(n.Host, "ProxyJump")
	}
	user := d.user(n)
	cfg, err := d.clientConfig(n.Host, user)
	if err != nil {
		return nil, err
	}
	var nc net.Conn
	if jumpSpec != "" && jumpSpec != "none" {
		j, err := d.jumpClient(ctx, jumpSpec)
		if err != nil {
			return nil, err
		}
		if nc, err = j.DialContext(ctx, "tcp", n.Addr()); err != nil {
			return nil, fmt.Errorf("ssh to %s through %s: %w", n.Addr(), jumpSpec, err)
		}
	} else {
		nd := net.Dialer{Timeout: d.timeout}
		if nc, err = nd.DialContext(ctx, "tcp", n.Addr()); err != nil {
			return nil, fmt.Errorf("ssh to %s: host unreachable: %w", n.Addr(), err)
		}
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, n.Addr(), cfg)
	if err != nil {
		nc.Close()
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("ssh to %s@%s: the host refused %s for user %s (is its public key in that user's ~/.ssh/authorized_keys? on CloudLab: Manage SSH Keys, then a new experiment): %w",
				user, n.Addr(), d.keyName(n.Host), user, err)
		}
		return nil, fmt.Errorf("ssh to %s@%s: %w", user, n.Addr(), err)
	}
	return newSSHConn(ssh.NewClient(c, chans, reqs), d.keepalive, d.keepaliveTimeout), nil
}

// keyName says which key was offered to host, for errors.
func (d *dialer) keyName(host string) string {
	if d.login.Key != "" {
		return "the key " + d.login.Key
	}
	if k := d.get(host, "IdentityFile"); k != "" {
		return "the key " + k + " (ssh_config IdentityFile)"
	}
	return "the keys of ssh-agent or ~/.ssh/id_*"
}

// jumpClient connects once to the bastion and shares it among all nodes.
func (d *dialer) jumpClient(ctx context.Context, spec string) (*ssh.Client, error) {
	d.jumpOnce.Do(func() {
		user, hostport := "", spec
		if u, h, ok := strings.Cut(spec, "@"); ok {
			user, hostport = u, h
		}
		host, port := hostport, "22"
		if h, p, err := net.SplitHostPort(hostport); err == nil {
			host, port = h, p
		}
		if user == "" {
			user = d.user(Node{Host: host})
		}
		cfg, err := d.clientConfig(host, user)
		if err != nil {
			d.jumpErr = err
			return
		}
		nd := net.Dialer{Timeout: d.timeout}
		addr := net.JoinHostPort(host, port)
		nc, err := nd.DialContext(ctx, "tcp", addr)
		if err != nil {
			d.jumpErr = fmt.Errorf("jump host %s: %w", spec, err)
			return
		}
		c, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
		if err != nil {
			nc.Close()
			d.jumpErr = fmt.Errorf("jump host %s: %w", spec, err)
			return
		}
		d.jump = ssh.NewClient(c, chans, reqs)
	})
	return d.jump, d.jumpErr
}

func (d *dialer) Close() error {
	if d.jump != nil {
		return d.jump.Close()
	}
	return nil
}

// authMethods loads the key file, or else the keys ssh-agent holds.
func authMethods(keyFile string) ([]ssh.AuthMethod, error) {
	if keyFile != "" {
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("ssh key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			// The error never quotes the key itself.
			return nil, fmt.Errorf("ssh key %s: %w (passphrase-protected keys: load them into ssh-agent and omit --key)", keyFile, err)
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signer)}, nil
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			return []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(c).Signers)}, nil
		}
	}
	home, _ := os.UserHomeDir()
	for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		if _, err := os.Stat(filepath.Join(home, ".ssh", name)); err == nil {
			return authMethods(filepath.Join(home, ".ssh", name))
		}
	}
	return nil, errors.New("no SSH key: pass --key, set IdentityFile in ~/.ssh/config or run ssh-agent")
}

// sshConn is one connection to a node; it knows when and why it ended.
type sshConn struct {
	c    *ssh.Client
	done chan struct{}

	mu  sync.Mutex
	why error
}

func newSSHConn(c *ssh.Client, every, timeout time.Duration) *sshConn {
	s := &sshConn{c: c, done: make(chan struct{})}
	go func() {
		err := c.Wait()
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			err = errors.New("the connection closed")
		}
		s.end(err)
		close(s.done)
	}()
	if every > 0 {
		go s.keepalive(every, timeout)
	}
	return s
}

// end records the first reason the connection ended.
func (s *sshConn) end(why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.why == nil {
		s.why = fmt.Errorf("%w (at %s)", why, time.Now().UTC().Format(time.TimeOnly))
	}
}

func (s *sshConn) lost() error {
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.why
	default:
		return nil
	}
}

func (s *sshConn) ended() <-chan struct{} { return s.done }

// keepalive asks the server for an answer every interval and closes the
// connection when none comes within timeout; its sessions then end.
func (s *sshConn) keepalive(every, timeout time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		answered := make(chan struct{})
		go func() {
			// Any answer will do: servers that do not know the request
			// still reply to it.
			_, _, _ = s.c.SendRequest("keepalive@openssh.com", true, nil)
			close(answered)
		}()
		select {
		case <-answered:
		case <-s.done:
			return
		case <-time.After(timeout):
			s.end(fmt.Errorf("the host did not answer for %s", timeout))
			s.c.Close()
			return
		}
	}
}

func (s *sshConn) Close() error {
	s.end(errors.New("closed by kdbench"))
	return s.c.Close()
}

func (s *sshConn) run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	sess, err := s.c.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	if err := sess.Start(cmd); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		return ctx.Err()
	}
}
