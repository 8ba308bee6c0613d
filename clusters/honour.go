package clusters

import (
	"context"
	"fmt"
	"strings"
)

// A run either honours what it asks of a cluster or refuses before it starts.
// Providers say what they cannot give (Checker); runners check the cluster
// that came up against the spec (Verify), so that a provider that silently
// gave less is caught too.

// Setting names a part of a Spec a provider may be unable to honour.
type Setting string

const (
	SettingSandboxDelay Setting = "sandbox delay"
	SettingQPSProfile   Setting = "QPS profile"
	SettingNodes        Setting = "node count"
)

// Refusal is one setting a provider cannot honour, and why.
type Refusal struct {
	Setting Setting
	Why     string
}

func (r Refusal) Error() string { return string(r.Setting) + ": " + r.Why }

// Refusals is every setting a cluster cannot honour, as one error.
type Refusals []Refusal

func (rs Refusals) Error() string {
	msgs := make([]string, len(rs))
	for i, r := range rs {
		msgs[i] = r.Error()
	}
	return strings.Join(msgs, "; ")
}

// Without returns rs without the refusals of setting s.
func (rs Refusals) Without(s Setting) Refusals {
	var out Refusals
	for _, r := range rs {
		if r.Setting != s {
			out = append(out, r)
		}
	}
	return out
}

// Checker is a provider that can tell, before Up, what of spec it cannot
// honour. Check returns spec completed with what the cluster decides (the QPS
// profile an existing cluster runs), the refusals, and an error only when it
// could not tell (the cluster does not answer).
type Checker interface {
	Check(ctx context.Context, spec Spec) (Spec, Refusals, error)
}

// Creator is a provider that creates its clusters (and their nodes) on
// demand, so that a run may bring up one per configuration under names of its
// own. Providers that attach to a cluster someone made (existing, cloudlab)
// are not Creators: their cluster keeps its name and its nodes.
type Creator interface {
	CreatesClusters() bool
}

// CreatesClusters tells whether p creates clusters on demand.
func CreatesClusters(p Provider) bool {
	c, ok := p.(Creator)
	return ok && c.CreatesClusters()
}

// Preflight asks p, when it is a Checker, what of spec it cannot honour.
// Providers that are not Checkers honour every setting (the local provider
// makes its cluster to the spec); Verify catches one that did not.
func Preflight(ctx context.Context, p Provider, spec Spec) (Spec, Refusals, error) {
	c, ok := p.(Checker)
	if !ok {
		return spec, nil, nil
	}
	return c.Check(ctx, spec)
}

// Verify compares the cluster that came up with the spec it was asked for.
func Verify(spec Spec, c *Cluster) Refusals {
	var out Refusals
	if c.SandboxDelay != spec.SandboxDelay {
		out = append(out, Refusal{SettingSandboxDelay, fmt.Sprintf("asked for %s, cluster %s (%s) runs its pods with %s", spec.SandboxDelay, c.Name, c.Provider, c.SandboxDelay)})
	}
	if spec.QPSProfile != "" && c.QPSProfile != spec.QPSProfile {
		out = append(out, Refusal{SettingQPSProfile, fmt.Sprintf("asked for %q, cluster %s (%s) runs %q", spec.QPSProfile, c.Name, c.Provider, c.QPSProfile)})
	}
	if spec.NodesExact && c.Nodes != spec.Nodes {
		out = append(out, Refusal{SettingNodes, fmt.Sprintf("asked for %d nodes, cluster %s (%s) has %d Ready", spec.Nodes, c.Name, c.Provider, c.Nodes)})
	}
	return out
}
