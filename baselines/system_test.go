package baselines

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
)

type refuseTestSystem string

func (f refuseTestSystem) Name() string                                          { return string(f) }
func (refuseTestSystem) Cluster(s clusters.Spec) clusters.Spec                   { return s }
func (refuseTestSystem) Prepare(context.Context, Env) error                      { return nil }
func (refuseTestSystem) Scale(context.Context, Env, string, string, int32) error { return nil }
func (refuseTestSystem) Stages() []string                                        { return nil }
func (refuseTestSystem) Teardown(context.Context, Env) error                     { return nil }

// TestRefuse: a refused name is an error with the reason, not "unknown", and
// is not listed among the runnable systems; a registration of the name,
// before or after the refusal, wins.
func TestRefuse(t *testing.T) {
	Refuse("test-refused", "not wired in yet; use test-model")
	Register(refuseTestSystem("test-before"))
	Refuse("test-before", "ignored: already registered")
	Refuse("test-after", "replaced by the registration below")
	Register(refuseTestSystem("test-after"))

	for _, tc := range []struct {
		name, err string
	}{
		{"test-refused", `system "test-refused" is refused in this build: not wired in yet; use test-model`},
		{"test-before", ""},
		{"test-after", ""},
		{"test-never", `unknown system "test-never"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Get(tc.name)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				_, err = Parse([]string{tc.name})
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.name, s.Name())
			require.Empty(t, Refusal(tc.name))
		})
	}
	require.NotContains(t, Names(), "test-refused")
	require.Equal(t, "not wired in yet; use test-model", Refusal("test-refused"))
}
