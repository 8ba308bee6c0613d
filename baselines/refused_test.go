package baselines

import (
	"errors"
	"fmt"
	"testing"
)

func TestRefusal(t *testing.T) {
	base := errors.New("provider cannot")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", AsRefusal(nil), false},
		{"plain", base, false},
		{"marked", AsRefusal(base), true},
		{"wrapped", fmt.Errorf("run: %w", AsRefusal(base)), true},
		{"joined refusals", errors.Join(AsRefusal(errors.New("other")), AsRefusal(base)), true},
		{"a refusal beside a failure", errors.Join(errors.New("kubeconfig unreadable"), AsRefusal(base)), false},
		{"wrapped join", fmt.Errorf("failover: %w", errors.Join(AsRefusal(base), fmt.Errorf("x: %w", AsRefusal(base)))), true},
	} {
		if got := IsRefusal(tc.err); got != tc.want {
			t.Errorf("%s: IsRefusal = %v, want %v", tc.name, got, tc.want)
		}
	}
	if AsRefusal(base).Error() != base.Error() || !errors.Is(AsRefusal(base), base) {
		t.Error("a refusal reads and unwraps as the error it marks")
	}
}
