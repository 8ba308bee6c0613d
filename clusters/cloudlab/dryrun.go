package cloudlab

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WritePlan prints the whole plan, as --dry-run shows it: every node with
// its variables and its steps in order, then each step's commands once (they
// are the same on every node but for the variables). Nothing secret is in a
// plan: the join token appears as the variable that carries it.
func WritePlan(w io.Writer, p *Plan) error {
	cp := p.Inventory.ControlPlane()
	bw := &errWriter{w: w}
	mode := ""
	if p.ControlPlane == ControlPlaneProcesses {
		mode = ", control plane as processes"
	}
	if len(p.Addons) > 0 {
		mode += ", add-ons " + strings.Join(p.Addons, ",")
	}
	bw.printf("# kdbench cloudlab bootstrap: %d nodes (control plane %s, %d workers), QPS profile %s%s\n",
		len(p.Inventory.Nodes), cp.Name, len(p.Inventory.Nodes)-1, p.QPSProfile, mode)
	bw.printf("# Each command runs as `sudo bash -s` with `set -euo pipefail` and the node's variables exported;\n")
	bw.printf("# a step's apply runs only when its check fails, and its check must pass afterwards.\n")
	bw.printf("# Set while running: $%s (from the ca-cert-hash query), $%s (nodes not failed so far).\n\n", envCACertHash, envNodesExpected)

	bw.printf("## Nodes\n")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tSSH\tVARIABLES")
	for _, n := range p.Inventory.Nodes {
		var vars []string
		for _, kv := range p.Env(n) {
			vars = append(vars, kv[0]+"="+kv[1])
		}
		login := n.Addr()
		if n.User != "" {
			login = n.User + "@" + login
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, n.Role, login, strings.Join(vars, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	bw.printf("\n## Plan per node\n")
	for _, n := range p.Inventory.Nodes {
		bw.printf("%s:", n.Name)
		phase := Phase(-1)
		for _, s := range p.StepsFor(n) {
			if s.Phase != phase {
				phase = s.Phase
				bw.printf(" [%s]", phase)
			}
			bw.printf(" %s", s.Name)
		}
		bw.printf("\n")
	}

	bw.printf("\n## Steps\n")
	for _, s := range p.Steps {
		roles := make([]string, len(s.Roles))
		for i, r := range s.Roles {
			roles[i] = string(r)
		}
		on := strings.Join(roles, ", ")
		if s.Node != "" {
			on = s.Node
		}
		bw.printf("\n### %s (phase %s; on %s; timeout %s; %d retries)\n", s.Name, s.Phase, on, s.Timeout, s.Retries)
		switch {
		case s.Export != "":
			bw.printf("query, output exported to later steps as $%s:\n", s.Export)
		case s.Fetch != "":
			bw.printf("query, output saved (mode 0600, never logged) to <cluster dir>/%s:\n", s.Fetch)
		default:
			bw.printf("check:\n%s\napply:\n", indent(s.Check))
		}
		if s.Upload != nil {
			bw.printf("  # stdin: %s (sha256 %s)\n", s.Upload.Local, s.Upload.SHA256)
		}
		bw.printf("%s\n", indent(s.Apply))
		if len(s.Secrets) > 0 {
			bw.printf("secrets: %s (from <cluster dir>/secrets.json, redacted from every log)\n", strings.Join(s.Secrets, ", "))
		}
	}
	return bw.err
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// errWriter keeps the first write error so the printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
