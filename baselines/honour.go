package baselines

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kdbench/kdbench/clusters"
)

// Honour asks the provider, before anything starts, whether it can give the
// cluster that systems share what spec asks. It returns spec as the
// provider completes it (the QPS profile an existing cluster runs), or an
// error naming the systems, the provider and every setting it refuses, with
// why. A podless system (dirigent) runs no pod on the cluster's nodes, so
// their sandbox delay is not its to ask.
func Honour(ctx context.Context, p clusters.Provider, spec clusters.Spec, systems []System) (clusters.Spec, error) {
	var bound []error
	for _, s := range systems {
		if b, ok := s.(ProviderBound); ok {
			if err := b.RefuseProvider(p, spec); err != nil {
				bound = append(bound, err)
			}
		}
	}
	if len(bound) > 0 {
		return spec, AsRefusal(fmt.Errorf("%s refused on the %s provider: %w", names(systems), p.Name(), errors.Join(bound...)))
	}
	done, refused, err := clusters.Preflight(ctx, p, spec)
	if err != nil {
		return spec, fmt.Errorf("%s on the %s provider: %w", names(systems), p.Name(), err)
	}
	return done, refusal(p.Name(), spec, systems, refused)
}

// Verify checks the cluster that came up against the spec it was asked
// for, as Honour does: a provider that gave less fails the run here rather
// than measuring something else.
func Verify(spec clusters.Spec, c *clusters.Cluster, systems []System) error {
	return refusal(c.Provider, spec, systems, clusters.Verify(spec, c))
}

func refusal(provider string, spec clusters.Spec, systems []System, refused clusters.Refusals) error {
	if allPodless(systems) {
		refused = refused.Without(clusters.SettingSandboxDelay)
	}
	if len(refused) == 0 {
		return nil
	}
	return AsRefusal(fmt.Errorf("%s refused on the %s provider (cluster %q): %w", names(systems), provider, spec.Name, refused))
}

func allPodless(systems []System) bool {
	for _, s := range systems {
		if p, ok := s.(Podless); !ok || !p.Podless() {
			return false
		}
	}
	return len(systems) > 0
}

func names(systems []System) string {
	out := make([]string, len(systems))
	for i, s := range systems {
		out[i] = s.Name()
	}
	return strings.Join(out, ", ")
}
