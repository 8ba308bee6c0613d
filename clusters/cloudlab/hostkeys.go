package cloudlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// tofu trusts a host's key the first time and pins it in known_hosts.
type tofu struct {
	mu    sync.Mutex
	path  string
	known map[string][]byte // normalized address → marshaled key
}

func newTOFU(path string) (*tofu, error) {
	t := &tofu{path: path, known: map[string][]byte{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	for len(data) > 0 {
		_, hosts, key, _, rest, err := ssh.ParseKnownHosts(data)
		if err != nil {
			if err == io.EOF {
				break
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, h := range hosts {
			t.known[h] = key.Marshal()
		}
		data = rest
	}
	return t, nil
}

func (t *tofu) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	addr := knownhosts.Normalize(hostname)
	t.mu.Lock()
	defer t.mu.Unlock()
	if want, ok := t.known[addr]; ok {
		if !bytes.Equal(want, key.Marshal()) {
			return fmt.Errorf("host key of %s changed (known in %s); if the node was reimaged, delete its line there", hostname, t.path)
		}
		return nil
	}
	f, err := os.OpenFile(t.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, knownhosts.Line([]string{addr}, key)); err != nil {
		return err
	}
	t.known[addr] = key.Marshal()
	return nil
}
