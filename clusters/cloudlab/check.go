package cloudlab

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
)

// NodeCheck is what one node answered to Check.
type NodeCheck struct {
	Node Node
	// User is who the login became under sudo (root when sudo works).
	User string
	Err  error
}

// checkScript runs as the bootstrap's commands do (sudo bash -s): it says
// who it runs as and whether the node holds its inventory LAN address.
const checkScript = `set -eu
echo "user=$(id -un)"
if ip -4 -o addr show | grep -q " inet $NODE_IP/"; then echo lan=ok; else echo "lan=missing: $(ip -4 -o addr show | awk '{print $2, $4}' | tr '\n' ' ')"; fi
`

// CheckNodes connects to every node of the inventory exactly as `cluster up`
// does (same login, known_hosts, sudo) and reports each node's answer,
// without changing anything. The error names every node that failed.
func (p *Provider) CheckNodes(ctx context.Context, name string) ([]NodeCheck, error) {
	inv, err := p.inventory(name)
	if err != nil {
		return nil, err
	}
	d, err := p.workDir(name)
	if err != nil {
		return nil, err
	}
	if err := d.mkdirs(); err != nil {
		return nil, err
	}
	warn := func(msg string) { fmt.Fprintf(p.opts.Progress, "warning: %s\n", msg) }
	dial, closeDialer, err := p.dial(p.opts.Login, d.KnownHosts(), warn)
	if err != nil {
		return nil, err
	}
	defer closeDialer()
	out := make([]NodeCheck, len(inv.Nodes))
	sem := make(chan struct{}, p.opts.Parallel)
	var wg sync.WaitGroup
	for i, n := range inv.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = checkNode(ctx, dial, n)
		}()
	}
	wg.Wait()
	var failed []string
	for _, c := range out {
		if c.Err != nil {
			failed = append(failed, c.Err.Error())
		}
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("%d of %d nodes failed the check:\n  %s", len(failed), len(out), strings.Join(failed, "\n  "))
	}
	return out, nil
}

func checkNode(ctx context.Context, dial func(context.Context, Node) (conn, error), n Node) NodeCheck {
	res := NodeCheck{Node: n}
	c, err := dial(ctx, n)
	if err != nil {
		res.Err = fmt.Errorf("node %s: %w", n.Name, err)
		return res
	}
	defer c.Close()
	var stdout, stderr bytes.Buffer
	script := "export NODE_IP=" + shellQuote(n.IP) + "\n" + checkScript
	if err := c.run(ctx, remoteScript, strings.NewReader(script), &stdout, &stderr); err != nil {
		res.Err = fmt.Errorf("node %s (%s): `%s`: %v: %s", n.Name, n.Addr(), remoteScript, err, strings.TrimSpace(stderr.String()))
		return res
	}
	res.User, res.Err = parseCheck(n, stdout.String())
	return res
}

// parseCheck reads checkScript's output.
func parseCheck(n Node, out string) (string, error) {
	var user, lan string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(line, "lan="); ok {
			lan = v
		}
	}
	switch {
	case user == "" || lan == "":
		return user, fmt.Errorf("node %s (%s): unexpected answer %q", n.Name, n.Addr(), out)
	case lan != "ok":
		return user, fmt.Errorf("node %s (%s): its LAN address %s from the inventory is not on it (%s)", n.Name, n.Addr(), n.IP, strings.TrimPrefix(lan, "missing: "))
	}
	return user, nil
}
