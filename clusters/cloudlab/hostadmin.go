package cloudlab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path"
	"strings"

	"github.com/kdbench/kdbench/clusters"
)

var _ clusters.HostAdmin = (*Reconfigurer)(nil)

// PodCIDR is the range of pod addresses worker h's node agent hands out:
// its --pod-cidr, a /17 of the pod range per worker host
// (local.HostPlan.NodeAgentProcess).
func (r *Reconfigurer) PodCIDR(h clusters.Host) (netip.Prefix, error) {
	pr, err := r.process(h, "nodeagent")
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("pod range of %s: %w", h.Name, err)
	}
	return podCIDRFlag(pr.Args, h.Name)
}

// podCIDRFlag is the value of the --pod-cidr flag in args.
func podCIDRFlag(args []string, host string) (netip.Prefix, error) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--pod-cidr="); ok {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return netip.Prefix{}, fmt.Errorf("the node agent on %s: --pod-cidr=%s: %w", host, v, err)
			}
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("the node agent on %s has no --pod-cidr flag", host)
}

// RunRoot runs script with bash as root on h (sudo, as the bootstrap's
// steps) and returns its standard output.
func (r *Reconfigurer) RunRoot(ctx context.Context, h clusters.Host, script string) (string, error) {
	cn, err := r.hostConn(ctx, h)
	if err != nil {
		return "", err
	}
	var out, stderr bytes.Buffer
	if err := cn.run(ctx, remoteScript, strings.NewReader("set -euo pipefail\n"+script), &out, &stderr); err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(script), "\n")
		return out.String(), fmt.Errorf("on %s, as root: `%s`: %w: %s", h.Name, first, err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// Install copies the local executable to dest on h, through a temporary
// file beside it, unless dest has its content already (by SHA-256).
func (r *Reconfigurer) Install(ctx context.Context, h clusters.Host, local, dest string) error {
	sum, err := fileSHA256(local)
	if err != nil {
		return fmt.Errorf("installing %s on %s: %w", dest, h.Name, err)
	}
	if !path.IsAbs(dest) {
		return fmt.Errorf("installing %s on %s: want an absolute path", dest, h.Name)
	}
	check := `echo "` + sum + `  ` + dest + `" | sha256sum -c --status`
	if _, err := r.RunRoot(ctx, h, check); err == nil {
		return nil
	}
	cn, err := r.hostConn(ctx, h)
	if err != nil {
		return err
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("installing %s on %s: %w", dest, h.Name, err)
	}
	defer f.Close()
	tmp := path.Join(path.Dir(dest), ".kdbench-upload."+path.Base(dest))
	script := `set -euo pipefail; mkdir -p ` + shellQuote(path.Dir(dest)) + `; cat > ` + shellQuote(tmp) + `; chmod 755 ` + shellQuote(tmp) +
		`; mv -f ` + shellQuote(tmp) + ` ` + shellQuote(dest) + `; ` + check
	var stderr bytes.Buffer
	if err := cn.run(ctx, remoteUpload+shellQuote(script), f, &bytes.Buffer{}, &stderr); err != nil {
		return fmt.Errorf("installing %s on %s from %s: %w: %s", dest, h.Name, local, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// hostConn is the placer's connection to h.
func (r *Reconfigurer) hostConn(ctx context.Context, h clusters.Host) (conn, error) {
	n, err := r.p.node(h)
	if err != nil {
		return nil, err
	}
	cn, err := r.p.conn(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", h.Name, err)
	}
	return cn, nil
}
